"""access_audit on a host's files laid out under a temporary root: each kind of undeclared
privilege is found where it comes from, and what is declared is not."""

from pathlib import Path

import pytest

from ansible_collections.flowspace.infra.plugins.modules import access_audit
from ansible_collections.flowspace.infra.plugins.modules.access_audit import audit, logical_lines, principals


def host(root: Path, files: dict) -> Path:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


BASE = {
    "/etc/sudoers": ("Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n"
                     "@includedir /etc/sudoers.d\n"),
    "/etc/sudoers.d/90-cloud-init-users": "# Created by cloud-init\nubuntu ALL=(ALL) NOPASSWD:ALL\n",
    "/etc/sudoers.d/README": "# files here are read by sudo\n",
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n",
    "/etc/shadow": "root:*:19000:0:99999:7:::\nubuntu:!:19000:0:99999:7:::\n",
    "/proc/net/tcp": (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 00000000:0016 00000000:0000 0A 00000000:00000000\n"        # 0.0.0.0:22 LISTEN
        "   1: 0100007F:07B3 00000000:0000 0A 00000000:00000000\n"        # 127.0.0.1:1971 LISTEN
        "   2: 0A00000A:0016 0B00000A:C350 01 00000000:00000000\n"),      # an established session
    "/proc/net/udp": (
        "  sl  local_address rem_address   st\n"
        "   0: 00000000:0D96 00000000:0000 07 00000000:00000000\n"),      # 0.0.0.0:3478
}
PARAMS = {"sudo_principals": ["root", "%sudo", "ubuntu"], "uid0_accounts": [], "password_accounts": [],
          "ports": [{"port": 22, "protocol": "tcp"}, {"port": 3478, "protocol": "udp"}]}


def run(tmp_path, **changes):
    files = {**BASE, **{k: v for k, v in changes.items() if k.startswith("/")}}
    params = {**PARAMS, **{k: v for k, v in changes.items() if not k.startswith("/")}, "root": str(tmp_path)}
    return audit({**params, "root": str(host(tmp_path, files))})


def test_a_declared_host_has_no_finding(tmp_path) -> None:
    assert run(tmp_path) == []


def test_a_sudoers_drop_in_for_an_unknown_user_is_found_where_it_is(tmp_path) -> None:
    found = run(tmp_path, **{"/etc/sudoers.d/zz-extra": "intruder ALL=(ALL) NOPASSWD: ALL\n"})
    assert found == [{"kind": "sudo", "what": "intruder ALL=(ALL) NOPASSWD: ALL",
                      "where": "/etc/sudoers.d/zz-extra"}]


def test_files_sudo_skips_are_skipped(tmp_path) -> None:
    assert run(tmp_path, **{"/etc/sudoers.d/extra.bak": "intruder ALL=(ALL) ALL\n",
                            "/etc/sudoers.d/extra~": "intruder ALL=(ALL) ALL\n"}) == []


@pytest.mark.parametrize(("rule", "found"), [
    ("alice, ubuntu ALL=(ALL) ALL", ["alice", "ubuntu"]),
    ("%ops ALL = (ALL) NOPASSWD: ALL", ["%ops"]),
    ("ubuntu ALL=(ALL) NOPASSWD:ALL", ["ubuntu"]),
])
def test_every_principal_of_a_rule_is_read(rule, found) -> None:
    assert principals(rule) == found


def test_a_second_uid_0_account_is_found(tmp_path) -> None:
    passwd = BASE["/etc/passwd"] + "toor:x:0:0::/root:/bin/sh\n"
    assert run(tmp_path, **{"/etc/passwd": passwd}) == [
        {"kind": "uid0", "what": "toor has UID 0", "where": "/etc/passwd"}]
    assert run(tmp_path, **{"/etc/passwd": passwd}, uid0_accounts=["toor"]) == []


@pytest.mark.parametrize(("field", "what"), [("$6$salt$hash", "can log in with a password"),
                                             ("", "has no password at all")])
def test_an_account_with_a_password_login_is_found(tmp_path, field, what) -> None:
    shadow = BASE["/etc/shadow"] + f"guest:{field}:19000:0:99999:7:::\n"
    found = run(tmp_path, **{"/etc/shadow": shadow})
    assert [f["what"] for f in found] == [f"guest {what}"]


def test_a_port_outside_the_model_is_found_loopback_and_clients_are_not(tmp_path) -> None:
    tcp = BASE["/proc/net/tcp"] + "   3: 00000000:0CEA 00000000:0000 0A 00000000:00000000\n"  # :3306
    tcp6 = ("  sl  local_address remote_address st\n"
            "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A\n"
            "   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A\n")
    # ([::]:8080 listening everywhere, [::1]:8081 on loopback)
    udp = BASE["/proc/net/udp"] + "   1: 0A00000A:D431 08080808:0035 01 00000000:00000000\n"  # a DNS client
    found = run(tmp_path, **{"/proc/net/tcp": tcp, "/proc/net/tcp6": tcp6, "/proc/net/udp": udp})
    assert [f["what"] for f in found] == ["tcp/3306 listens on 0.0.0.0", "tcp/8080 listens on ::"]


def test_a_range_covers_its_ports(tmp_path) -> None:
    udp = BASE["/proc/net/udp"] + "   1: 00000000:C350 00000000:0000 07 00000000:00000000\n"  # :50000
    ranged = [*PARAMS["ports"], {"port": 50000, "port_end": 60000, "protocol": "udp"}]
    assert run(tmp_path, **{"/proc/net/udp": udp}, ports=ranged) == []
    assert [f["what"] for f in run(tmp_path, **{"/proc/net/udp": udp})] == ["udp/50000 listens on 0.0.0.0"]


def test_the_module_warns_of_each_finding_and_lists_what_site_yml_may_remove(tmp_path, run_module) -> None:
    files = {**BASE, "/etc/sudoers.d/zz-extra": "intruder ALL=(ALL) NOPASSWD: ALL\n",
             "/etc/shadow": "root:*:19000:0:99999:7:::\nubuntu:$6$salt$hash:19000:0:99999:7:::\n"}
    result = run_module(access_audit, {**PARAMS, "root": str(host(tmp_path, files))})
    assert (result["exit_code"], result["changed"]) == (0, False)
    assert result["sudoers_files"] == ["/etc/sudoers.d/zz-extra"]
    assert result["password_accounts"] == ["ubuntu"]
    assert all("account" not in finding for finding in result["findings"])
    assert sorted(f["kind"] for f in result["findings"]) == ["password", "sudo"]
    assert "not declared: intruder ALL=(ALL) NOPASSWD: ALL (/etc/sudoers.d/zz-extra)" in result["warnings"]
    clean = run_module(access_audit, {**PARAMS, "root": str(host(tmp_path / "clean", BASE))})
    assert (clean["findings"], clean["sudoers_files"], clean.get("warnings")) == ([], [], None)


def test_sudoers_lines_are_read_as_sudo_reads_them() -> None:
    lines = ["# a comment\n", "alice ALL=(ALL) \\\n", "   NOPASSWD: ALL  # why\n", "\n", "   \n",
             "#includedir /etc/sudoers.d\n", "@include /etc/other\n", "#include /etc/x\n",
             "bob ALL=(ALL) ALL\n"]
    assert logical_lines(lines) == ["alice ALL=(ALL) NOPASSWD: ALL", "#includedir /etc/sudoers.d",
                                    "@include /etc/other", "#include /etc/x", "bob ALL=(ALL) ALL"]


def test_locked_declared_and_malformed_shadow_lines_are_not_findings(tmp_path) -> None:
    shadow = (BASE["/etc/shadow"] + "locked:!$6$x$y:19000::::::\nnologin:*:19000::::::\n"
              + "ops:$6$salt$hash:19000::::::\nbroken\n")
    assert run(tmp_path, **{"/etc/shadow": shadow}) == [{"kind": "password", "where": "/etc/shadow",
                                                         "what": "ops can log in with a password",
                                                         "account": "ops"}]
    assert run(tmp_path, **{"/etc/shadow": shadow}, password_accounts=["ops"]) == []


def test_a_range_covers_both_its_ends_and_nothing_beyond(tmp_path) -> None:
    udp = BASE["/proc/net/udp"] + ("   1: 00000000:EA60 00000000:0000 07 00000000:00000000\n"   # :60000
                                   "   2: 00000000:EA61 00000000:0000 07 00000000:00000000\n")  # :60001
    ranged = [{"port": 22}, {"port": 3478, "protocol": "udp"},
              {"port": 50000, "port_end": 60000, "protocol": "udp"}]
    assert run(tmp_path, **{"/proc/net/udp": udp}, ports=ranged) == [
        {"kind": "port", "what": "udp/60001 listens on 0.0.0.0", "where": "/proc/net"}]
    tcp_only = [{"port": 22}, {"port": 3478, "protocol": "tcp"}]
    assert [f["what"] for f in run(tmp_path, ports=tcp_only)] == ["udp/3478 listens on 0.0.0.0"]


def test_an_ipv4_mapped_listener_is_named_by_its_ipv4_address(tmp_path) -> None:
    tcp6 = ("  sl  local_address remote_address st\n"
            "   0: 0000000000000000FFFF00000A00000A:0CEA 00000000000000000000000000000000:0000 0A\n"
            "   1: 0000000000000000FFFF00000100007F:0CEB 00000000000000000000000000000000:0000 0A\n"
            "   2: short line\n")
    assert [f["what"] for f in run(tmp_path, **{"/proc/net/tcp6": tcp6})] == ["tcp/3306 listens on 10.0.0.10"]


def test_each_kind_of_finding_is_reported_whole(tmp_path, run_module) -> None:
    files = {**BASE,
             "/etc/sudoers": "root ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d # where\n",
             "/etc/sudoers.d/zz": "ghost ALL=(ALL) ALL # comment\n",
             "/etc/sudoers.d/not-a-file": None,
             "/etc/passwd": (BASE["/etc/passwd"]
                             + "toor:x:0:0::/root:/bin/sh\nshort:x:0\nzero:x:1:0::/:/bin/sh\n"),
             "/etc/shadow": BASE["/etc/shadow"] + "open::19000:0:99999:7:::\nx\n",
             "/proc/net/udp6": ("  sl  local_address remote_address st\n"
                                "   0: 00000000000000000000000000000000:1F90 "
                                "00000000000000000000000000000000:0000 07\n")}
    root = tmp_path / "host"
    for path, text in files.items():
        target = root / path.lstrip("/")
        if text is None:
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode() + (b"\xff\n" if path == "/etc/shadow" else b""))
    params = {**PARAMS, "sudo_principals": ["%sudo", "ubuntu"], "root": str(root)}
    assert audit(params) == [
        {"kind": "sudo", "what": "ghost ALL=(ALL) ALL", "where": "/etc/sudoers.d/zz"},
        {"kind": "uid0", "what": "toor has UID 0", "where": "/etc/passwd"},
        {"kind": "password", "what": "open has no password at all", "where": "/etc/shadow",
         "account": "open"},
        {"kind": "port", "what": "udp/8080 listens on ::", "where": "/proc/net"}]
    result = run_module(access_audit, params)
    assert result["sudoers_files"] == ["/etc/sudoers.d/zz"] and result["password_accounts"] == ["open"]
    assert result["findings"][2] == {"kind": "password", "what": "open has no password at all",
                                     "where": "/etc/shadow"}


def test_a_host_without_the_files_has_no_findings(tmp_path) -> None:
    assert audit({**PARAMS, "root": str(tmp_path)}) == []


def test_lines_skipped_early_do_not_hide_findings_after_them(tmp_path) -> None:
    tcp = ("  sl  local_address rem_address   st\n"
           "   0: short\n"
           "   1: 00000000:0CEA 0B00000A:C350 01 00000000:00000000\n"   # :3306, an established session
           "   2: 00000000:0CEB 00000000:0000 0A 00000000:00000000\n")  # :3307 LISTEN
    udp = ("  sl  local_address rem_address   st\n"
           "   0: 00000000:1000 08080808:0000 07 00000000:00000000\n"   # :4096 towards 8.8.8.8
           "   1: 00000000:1001 00000000:0000 07 00000000:00000000\n")  # :4097 unconnected
    sudoers = "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n"
    found = run(tmp_path, **{"/proc/net/tcp": tcp, "/proc/net/udp": udp, "/etc/sudoers": sudoers,
                             "/etc/sudoers.d/zz": "Defaults !lecture\nghost ALL=(ALL) ALL\n",
                             "/etc/shadow": "root:*:1::::::\nguest:$6$a$b:1::::::\n",
                             "/etc/passwd": "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\n"},
                password_accounts=["root"])
    assert [f["what"] for f in found] == ["ghost ALL=(ALL) ALL", "toor has UID 0",
                                          "guest can log in with a password",
                                          "tcp/3307 listens on 0.0.0.0", "udp/4097 listens on 0.0.0.0"]


def test_only_drop_ins_are_listed_for_removal(tmp_path, run_module) -> None:
    files = {**BASE, "/etc/sudoers": BASE["/etc/sudoers"] + "ghost ALL=(ALL) ALL\n",
             "/etc/shadow": "root:*:1::::::\nghost:$6$a$b:1::::::\n"}
    result = run_module(access_audit, {**PARAMS, "root": str(host(tmp_path, files))})
    assert [f["where"] for f in result["findings"]] == ["/etc/sudoers", "/etc/shadow"]
    assert result["sudoers_files"] == []


def test_a_bare_rule_names_its_first_word() -> None:
    assert principals("ghost") == ["ghost"]
    assert principals("ghost  extra words") == ["ghost"]


def test_continued_lines_join_whole_and_comments_end_at_the_first_hash() -> None:
    lines = ["alice ALL=(ALL)\\\n", " NOPASSWD:\\\n", " ALL\n", "bob ALL=(ALL) ALL # one # two\n"]
    assert logical_lines(lines) == ["alice ALL=(ALL) NOPASSWD: ALL", "bob ALL=(ALL) ALL"]
