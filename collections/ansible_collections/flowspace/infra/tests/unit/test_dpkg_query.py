"""flowspace.infra.dpkg_query, which lets a role skip apt when dpkg already has every package:
its main() run for real against this machine's dpkg (a Debian controller), and its reading of
the states a host can be in."""

import pytest

from ansible_collections.flowspace.infra.plugins.modules import dpkg_query as dpkg

LISTING = "\n".join([
    "nodejs\t20.18.1-1nodesource1\tii ",
    "prometheus-alertmanager\t0.25.0+ds-2\trc ",  # removed, its configuration left
    "caddy\t2.11.9\thi ",  # held
    "fail2ban\t1.0.2-2\tiU ",  # unpacked, not configured
    "libc6:arm64\t2.36-9\tii ",
    "needrestart\t3.6-4\tiW ",  # installed, waiting for triggers
    "",
])


@pytest.fixture
def module(run_module):
    def run(*names: str, check: bool = False) -> dict:
        result = run_module(dpkg, {"names": list(names)}, check_mode=check)
        assert result.pop("exit_code") == 0, result
        result.pop("invocation", None)
        return result

    return run


def test_the_module_reads_this_machines_dpkg(module) -> None:
    version = module("dpkg")["packages"]["dpkg"]["version"]
    found = module("dpkg", "no-such-package-here", f"dpkg={version.split('.')[0]}.*", "dpkg=0.0.*",
                   check=True)
    assert found["changed"] is False
    assert found["packages"]["dpkg"] == {"version": version, "status": "ii", "installed": True}
    assert "no-such-package-here" not in found["packages"]
    assert found["missing"] == ["no-such-package-here", "dpkg=0.0.*"]
    assert found["on_disk"] == ["dpkg", "dpkg", "dpkg"]


def test_no_names_asks_nothing(module) -> None:
    assert module() == {"changed": False, "packages": {}, "missing": [], "on_disk": []}


def test_a_failing_dpkg_query_is_named_with_its_code(run_module) -> None:
    failed = run_module(dpkg, {"names": ["--no-such-option"]})
    assert failed["exit_code"] == 1 and failed["rc"] == 2
    assert failed["msg"].startswith("dpkg-query failed (rc 2): ")


def test_what_apt_would_install_upgrade_or_downgrade() -> None:
    packages = dpkg.parse(LISTING)
    assert dpkg.missing(["nodejs=20.*", "caddy", "libc6", "needrestart"], packages) == []
    assert dpkg.missing(["nodejs=22.*"], packages) == ["nodejs=22.*"]
    assert dpkg.missing(["prometheus-alertmanager", "fail2ban", "curl"], packages) == [
        "prometheus-alertmanager", "fail2ban", "curl"]
    assert dpkg.missing([], packages) == []
    assert dpkg.missing(["curl"], dpkg.parse("")) == ["curl"]


def test_what_a_purge_would_act_on() -> None:
    assert dpkg.on_disk(["prometheus-alertmanager", "nodejs", "curl"], dpkg.parse(LISTING)) == [
        "prometheus-alertmanager", "nodejs"]
    assert dpkg.on_disk(["prometheus-alertmanager"], dpkg.parse("prometheus-alertmanager\t\tpn \n")) == []


def test_the_query_asks_dpkg_for_bare_names() -> None:
    assert dpkg.query_argv(["nodejs=20.*", "curl"])[-2:] == ["nodejs", "curl"]


def test_a_listing_in_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="not a dpkg-query line"):
        dpkg.parse("nodejs 20.18.1 ii\n")


def test_dpkg_is_asked_in_the_c_locale_and_an_odd_answer_is_refused(run_module, monkeypatch) -> None:
    asked = []

    def answer(self, argv, environ_update=None, **_options):
        asked.append((argv, environ_update))
        return 0, "nodejs 20.18.1 ii\n", ""

    monkeypatch.setattr(dpkg.AnsibleModule, "run_command", answer)
    failed = run_module(dpkg, {"names": ["nodejs=20.*"]})
    assert asked == [(["dpkg-query", "-W", f"-f={dpkg.QUERY_FORMAT}", "nodejs"], {"LC_ALL": "C"})]
    assert (failed["exit_code"], failed["msg"]) == (
        1, "not a dpkg-query line (name, version, status by tabs): 'nodejs 20.18.1 ii'")
