"""config_overrides: which drop-ins win over a managed one, by each service's reading rule."""

from pathlib import Path

from ansible_collections.flowspace.infra.plugins.modules import config_overrides
from ansible_collections.flowspace.infra.plugins.modules.config_overrides import (
    keys_of,
    overrides,
    settings_of,
)


def drop_ins(directory: Path, files: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def params(managed, directories, **extra):
    return {"managed": str(managed), "directories": [str(d) for d in directories], "suffix": [".conf"],
            "precedence": "last", "ignore_case": False, **extra}


def test_keys_are_read_in_each_format() -> None:
    assert keys_of("[Journal]\nStorage=persistent\n# Compress=no\nSystemMaxUse = 1G\n") == [
        "Storage", "SystemMaxUse"]
    assert keys_of("net.core.rmem_max = 1\nkernel.kptr_restrict=2\n") == [
        "net.core.rmem_max", "kernel.kptr_restrict"]
    assert keys_of("PasswordAuthentication no\nMaxAuthTries 3\n", ignore_case=True) == [
        "passwordauthentication", "maxauthtries"]


def test_a_later_file_setting_a_managed_key_overrides_it(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "[Journal]\nStorage=persistent\n",
                                      "zz-quiet.conf": "[Journal]\nStorage=none\n",
                                      "10-early.conf": "[Journal]\nStorage=volatile\n",
                                      "zz-other.conf": "[Journal]\nForwardToSyslog=no\n"})
    found = overrides(params(etc / "50-base-hardening.conf", [etc]))
    assert found == [{"path": str(etc / "zz-quiet.conf"), "keys": ["Storage"]}]


def test_a_name_in_an_earlier_directory_hides_the_same_name_in_a_later_one(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "Storage=persistent\n",
                                      "zz-vendor.conf": "# emptied by the admin\n"})
    usr = drop_ins(tmp_path / "usr", {"zz-vendor.conf": "Storage=none\n", "zz-other.conf": "Storage=auto\n"})
    found = overrides(params(etc / "50-base-hardening.conf", [etc, usr]))
    assert found == [{"path": str(usr / "zz-other.conf"), "keys": ["Storage"]}]


def test_with_first_wins_an_earlier_name_overrides_and_case_does_not_matter(tmp_path) -> None:
    sshd = drop_ins(tmp_path / "sshd", {"00-base-hardening.conf": "PasswordAuthentication no\n",
                                        "0-loose.conf": "passwordauthentication yes\n",
                                        "50-cloud-init.conf": "PasswordAuthentication yes\n"})
    found = overrides(params(sshd / "00-base-hardening.conf", [sshd], precedence="first", ignore_case=True))
    assert found == [{"path": str(sshd / "0-loose.conf"), "keys": ["passwordauthentication"]}]


def test_files_of_another_suffix_are_not_read(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "Storage=persistent\n",
                                      "zz-quiet.conf.disabled": "Storage=none\n"})
    assert overrides(params(etc / "50-base-hardening.conf", [etc])) == []


def test_a_file_that_sets_the_same_value_changes_nothing(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"90-base-hardening.conf": "fs.protected_fifos = 1\nkernel.x = 2\n"})
    usr = drop_ins(tmp_path / "usr", {"99-protect-links.conf": "fs.protected_fifos=1\nkernel.x = 3\n"})
    found = overrides(params(etc / "90-base-hardening.conf", [etc, usr]))
    assert found == [{"path": str(usr / "99-protect-links.conf"), "keys": ["kernel.x"]}]
    sshd = drop_ins(tmp_path / "sshd", {"00-base-hardening.conf": "PasswordAuthentication no\n",
                                        "0-same.conf": "passwordauthentication NO\n"})
    same = params(sshd / "00-base-hardening.conf", [sshd], precedence="first", ignore_case=True)
    assert overrides(same) == []


def test_apt_settings_and_names_are_read_as_apt_reads_them(tmp_path) -> None:
    ours = '// ours\nAPT::Periodic::Unattended-Upgrade "1";\nAPT::Periodic::Update-Package-Lists "1";\n'
    assert keys_of(ours) == ["APT::Periodic::Unattended-Upgrade", "APT::Periodic::Update-Package-Lists"]
    apt = drop_ins(tmp_path / "apt", {"20auto-upgrades": ours,
                                      "99-off": 'APT::Periodic::Unattended-Upgrade "0";\n',
                                      "99-off.dpkg-old": 'APT::Periodic::Update-Package-Lists "0";\n',
                                      "99-same.conf": 'APT::Periodic::Update-Package-Lists "1";\n'})
    found = overrides(params(apt / "20auto-upgrades", [apt], suffix=["", ".conf"]))
    assert found == [{"path": str(apt / "99-off"), "keys": ["APT::Periodic::Unattended-Upgrade"]}]


def test_fail2ban_reads_every_jail_d_local_after_jail_local_and_keys_belong_to_their_jail(tmp_path) -> None:
    managed = tmp_path / "jail.local"
    managed.write_text("[DEFAULT]\nbanaction = nftables-multiport\n\n[sshd]\nenabled = true\nmaxretry = 5\n")
    jail_d = drop_ins(tmp_path / "jail.d", {
        "a-loose.local": "[sshd]\nmaxretry = 100\n",           # read after jail.local despite its name
        "defaults-debian.conf": "[sshd]\nenabled = false\n",   # .conf: read before jail.local
        "recidive.local": "[recidive]\nenabled = true\nmaxretry = 3\n",  # another jail's keys
        "zz-off.local": "[sshd]\nenabled = false\n[DEFAULT]\nbanaction = iptables-multiport\n",
    })
    found = overrides(params(managed, [jail_d], suffix=[".local"], sections=True, managed_order="before"))
    assert found == [{"path": str(jail_d / "a-loose.local"), "keys": ["sshd/maxretry"]},
                     {"path": str(jail_d / "zz-off.local"), "keys": ["DEFAULT/banaction", "sshd/enabled"]}]
    # By name, as drop-ins are read, a-loose.local would come first and not count.
    by_name = overrides(params(managed, [jail_d], suffix=[".local"], sections=True))
    assert [item["path"] for item in by_name] == [str(jail_d / "zz-off.local")]
    assert keys_of("[sshd]\nmaxretry = 5\n", sections=True) == ["sshd/maxretry"]


def test_the_module_removes_what_overrides_and_reports_it(tmp_path, run_module) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "[Journal]\nStorage=persistent\n",
                                      "zz-quiet.conf": "[Journal]\nStorage=none\n",
                                      "zz-other.conf": "[Journal]\nForwardToSyslog=no\n"})
    args = {"managed": str(etc / "50-base-hardening.conf"), "directories": [str(etc)]}
    check = run_module(config_overrides, args, check_mode=True, diff=True)
    assert check["changed"] is True and (etc / "zz-quiet.conf").exists()
    quiet = str(etc / "zz-quiet.conf")
    assert check["diff"] == [{"before_header": quiet, "before": "[Journal]\nStorage=none\n",
                              "after_header": quiet, "after": ""}]
    assert check["warnings"] == [f"{quiet} overrides Storage of {etc / '50-base-hardening.conf'}"]
    removed = run_module(config_overrides, args)
    assert removed["changed"] is True and not (etc / "zz-quiet.conf").exists()
    assert removed["warnings"][0].endswith("(removed)") and (etc / "zz-other.conf").exists()
    assert run_module(config_overrides, args)["changed"] is False
    (etc / "zz-quiet.conf").write_text("[Journal]\nStorage=none\n")
    reported = run_module(config_overrides, {**args, "state": "present"})
    assert reported["changed"] is False and reported["overrides"] == [
        {"path": str(etc / "zz-quiet.conf"), "keys": ["Storage"]}]
    assert reported["diff"] == []
    assert reported["warnings"][0].endswith("of " + str(etc / "50-base-hardening.conf"))
    assert (etc / "zz-quiet.conf").exists()


def test_settings_are_read_with_their_values_as_each_service_writes_them() -> None:
    text = ("# c\n; c\n// c\n[Journal]\nStorage = Persistent\nMaxUse=1G  2G\n[ bad\n"
            "APT::Periodic::Unattended-Upgrade \"1\";\nPort 22\n")
    assert settings_of(text) == {"Storage": "Persistent", "MaxUse": "1G 2G",
                                 "APT::Periodic::Unattended-Upgrade": '"1"', "Port": "22"}
    assert settings_of(text, ignore_case=True)["storage"] == "persistent"
    assert settings_of("[sshd]\nmaxretry = 5\n[ recidive ]\nmaxretry=1\nx=1\n", sections=True) == {
        "sshd/maxretry": "5", "recidive/maxretry": "1", "recidive/x": "1"}
    assert settings_of("top=1\n", sections=True) == {"/top": "1"}


def test_a_value_that_differs_only_in_case_overrides_unless_case_is_ignored(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "Storage=persistent\n",
                                      "zz-upper.conf": "Storage=Persistent\n"})
    assert overrides(params(etc / "50-base-hardening.conf", [etc])) == [
        {"path": str(etc / "zz-upper.conf"), "keys": ["Storage"]}]
    assert overrides(params(etc / "50-base-hardening.conf", [etc], ignore_case=True)) == []


def test_an_unreadable_or_missing_file_sets_nothing(tmp_path) -> None:
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": "Storage=persistent\n"})
    (etc / "zz-dir.conf").mkdir()
    (etc / "zz-bytes.conf").write_bytes(b"Storage=\xff\n")
    assert overrides(params(etc / "50-base-hardening.conf", [etc, tmp_path / "missing"])) == [
        {"path": str(etc / "zz-bytes.conf"), "keys": ["Storage"]}]
    assert overrides(params(tmp_path / "none.conf", [etc])) == []


def test_a_file_that_cannot_be_removed_is_named(tmp_path, run_module, monkeypatch) -> None:
    managed = "[Journal]\nStorage=persistent\nCompress=yes\n"
    etc = drop_ins(tmp_path / "etc", {"50-base-hardening.conf": managed,
                                      "zz-quiet.conf": "[Journal]\nStorage=none\nCompress=no\n"})
    args = {"managed": str(etc / "50-base-hardening.conf"), "directories": [str(etc)]}

    def refuse(path):
        raise PermissionError(1, "Operation not permitted", path)

    monkeypatch.setattr(config_overrides.os, "remove", refuse)
    failed = run_module(config_overrides, args)
    quiet = str(etc / "zz-quiet.conf")
    assert failed["exit_code"] == 1
    assert failed["msg"] == f"cannot remove {quiet}: Operation not permitted"
    assert failed["overrides"] == [{"path": quiet, "keys": ["Compress", "Storage"]}]
    assert failed["warnings"][0].startswith(f"{quiet} overrides Compress, Storage of ")
