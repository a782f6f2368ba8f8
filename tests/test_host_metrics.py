"""The monitoring role's collector (roles/monitoring/files/flowspace-host-metrics): the month's
egress count across runs, reboots, a recreated interface and the turn of the month."""

import calendar
import os
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

from support import REPO_ROOT

_loader = SourceFileLoader("host_metrics", str(REPO_ROOT / "roles/monitoring/files/flowspace-host-metrics"))
collector = module_from_spec(spec_from_loader("host_metrics", _loader))
_loader.exec_module(collector)

NOV_10 = calendar.timegm((2026, 11, 10, 12, 0, 0))
NOV_1 = calendar.timegm((2026, 11, 1, 0, 0, 0))
DEC_1 = calendar.timegm((2026, 12, 1, 0, 0, 0))
OLD_BOOT = NOV_1 - 86400  # a host up since last month


def count(state: dict, raw: int, now: float, boot_id: str = "boot-a", booted: float = OLD_BOOT) -> dict:
    return collector.account(state, raw, boot_id, booted, interface="enp0s6", now=now)


def test_the_month_is_utc_and_december_rolls_into_january() -> None:
    assert collector.month_bounds(NOV_10) == (NOV_1, DEC_1, "2026-11")
    start, end, name = collector.month_bounds(calendar.timegm((2026, 12, 31, 23, 59, 59)))
    assert (start, end, name) == (DEC_1, calendar.timegm((2027, 1, 1, 0, 0, 0)), "2026-12")


def test_a_first_run_counts_since_a_boot_of_this_month_but_not_an_older_one() -> None:
    booted_this_month = count({}, 5000, NOV_10, "boot-a", NOV_1 + 3600)
    assert (booted_this_month["month_bytes"], booted_this_month["since"]) == (5000, NOV_1 + 3600)
    booted_last_month = count({}, 5000, NOV_10)
    assert (booted_last_month["month_bytes"], booted_last_month["since"]) == (0, NOV_1)


def test_runs_add_what_was_sent_between_them() -> None:
    state = count({}, 1000, NOV_10)
    state = count(state, 4000, NOV_10 + 60)
    state = count(state, 4500, NOV_10 + 120)
    assert state["month_bytes"] == 3500


def test_a_reboot_or_a_recreated_interface_loses_nothing_the_counter_shows() -> None:
    state = count({}, 1000, NOV_10)
    state = count(state, 9000, NOV_10 + 60)  # 8000
    state = count(state, 700, NOV_10 + 160, "boot-b", NOV_10 + 100)  # rebooted: 700
    assert state["month_bytes"] == 8700
    state = count(state, 200, NOV_10 + 220, "boot-b", NOV_10 + 100)  # recreated: 200
    assert state["month_bytes"] == 8900


def test_the_turn_of_the_month_starts_a_new_count() -> None:
    state = count({}, 1000, NOV_10)
    state = count(state, 6000, DEC_1 - 30)
    assert (state["month"], state["month_bytes"]) == ("2026-11", 5000)
    state = count(state, 6500, DEC_1 + 30)
    assert (state["month"], state["month_bytes"], state["since"]) == ("2026-12", 500, DEC_1)


def test_the_version_is_the_first_version_like_word() -> None:
    assert collector.VERSION.search("Redis server v=7.0.15 sha=00000000:0").group(1) == "7.0.15"
    assert collector.VERSION.search("v2.11.9 h1:abc=").group(1) == "2.11.9"
    assert collector.VERSION.search("livekit-server version 1.13.5").group(1) == "1.13.5"


def test_a_units_cpu_time_is_its_cgroups_count_in_either_cgroup_version(tmp_path, monkeypatch) -> None:
    unit = "/system.slice/caddy.service"
    v2 = tmp_path / "v2" / unit.lstrip("/")
    v2.mkdir(parents=True)
    (v2 / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    v1 = tmp_path / "cpuacct" / unit.lstrip("/")
    v1.mkdir(parents=True)
    (v1 / "cpuacct.usage").write_text("7250000000\n")
    monkeypatch.setattr(collector, "CGROUP_V1_CPU", (str(tmp_path / "cpuacct"),))

    monkeypatch.setattr(collector, "CGROUP_V2", str(tmp_path / "v2"))
    assert collector.cpu_seconds(unit, []) == 2.5
    monkeypatch.setattr(collector, "CGROUP_V2", str(tmp_path / "none"))
    assert collector.cpu_seconds(unit, []) == 7.25
    assert collector.cpu_seconds("/system.slice/gone.service", []) == 0


def test_without_a_cgroup_count_the_live_processes_cpu_is_summed(monkeypatch) -> None:
    monkeypatch.setattr(collector, "CGROUP_V2", "/nonexistent")
    monkeypatch.setattr(collector, "CGROUP_V1_CPU", ("/nonexistent",))
    # This test's own process has used some CPU by now; a process that is gone adds nothing.
    mine = collector.cpu_seconds("", [str(os.getpid()), "999999999"])
    assert 0 < mine < 3600


def test_a_change_of_interface_counts_the_new_interfaces_counter_from_zero() -> None:
    state = collector.account({}, 1000, "boot-a", OLD_BOOT, interface="eth0", now=NOV_10)
    state = collector.account(state, 9000, "boot-a", OLD_BOOT, interface="eth0", now=NOV_10 + 60)
    assert state["month_bytes"] == 8000
    # Same boot, another interface whose counter is larger than the old one's last reading:
    # its whole counter is new to the count, not the difference from eth0's.
    state = collector.account(state, 12000, "boot-a", OLD_BOOT, interface="ens3", now=NOV_10 + 120)
    assert (state["month_bytes"], state["interface"]) == (20000, "ens3")
