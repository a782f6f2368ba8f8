"""run_lock: taken once, refreshed by its own run, waited for by another, taken over when stale
or known dead, given back only by its holder."""

import json

import pytest

from ansible_collections.flowspace.infra.plugins.modules import run_lock


class Failed(Exception):
    pass


class Module:
    def __init__(self, check_mode=False):
        self.check_mode, self.warnings = check_mode, []

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **result):
        raise Failed(result)


class Clock:
    def __init__(self, start=1_000_000.0):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def params(tmp_path, run_id, **extra):
    return {"path": str(tmp_path / "run" / "converge.lock"), "run_id": run_id, "holder": f"{run_id}@laptop",
            "holder_pid": 42, "playbook": "site.yml", "wait": 0, "lease": 1800, "poll": 5, "take_over": "",
            **extra}


def acquire(tmp_path, run_id, clock, module=None, **extra):
    return run_lock.acquire(module or Module(), params(tmp_path, run_id, **extra), now=clock,
                            sleep=clock.sleep)


def held(tmp_path):
    return json.loads((tmp_path / "run" / "converge.lock").read_text())


def test_a_free_lock_is_taken_and_names_its_holder(tmp_path) -> None:
    result = acquire(tmp_path, "run-a", Clock())
    assert result["acquired"] is True and result["changed"] is False
    assert held(tmp_path)["holder"] == "run-a@laptop" and held(tmp_path)["holder_pid"] == 42


def test_its_own_run_refreshes_it(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    clock.now += 600
    assert acquire(tmp_path, "run-a", clock)["acquired"] is True
    assert held(tmp_path)["refreshed"] == clock.now and held(tmp_path)["since"] == clock.now - 600


def test_another_run_waits_its_bound_then_is_told_who_holds_it(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    with pytest.raises(Failed) as failed:
        acquire(tmp_path, "run-b", clock, wait=30)
    message = failed.value.args[0]["msg"]
    assert "another run is converging this host" in message
    assert "held by run-a@laptop (run run-a, site.yml)" in message
    assert "waited 30 s" in message and clock.now - 1_000_000.0 >= 30
    assert held(tmp_path)["run_id"] == "run-a", "the holder's lock is untouched"


def test_a_lock_given_back_during_the_wait_is_taken(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)

    def sleep_then_release(seconds):
        clock.sleep(seconds)
        run_lock.release(Module(), params(tmp_path, "run-a"))

    result = run_lock.acquire(Module(), params(tmp_path, "run-b", wait=60), now=clock,
                              sleep=sleep_then_release)
    assert result["acquired"] is True and result["waited"] == 5 and held(tmp_path)["run_id"] == "run-b"


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    clock.now += 1801
    module = Module()
    assert acquire(tmp_path, "run-b", clock, module)["acquired"] is True
    assert held(tmp_path)["run_id"] == "run-b" and "took over a stale converge lock" in module.warnings[0]


def test_a_lock_known_dead_is_taken_over_at_once_and_only_that_one(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    with pytest.raises(Failed):
        acquire(tmp_path, "run-b", clock, take_over="run-other")
    assert acquire(tmp_path, "run-b", clock, take_over="run-a")["acquired"] is True


def test_only_the_holder_gives_it_back(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    run_lock.release(Module(), params(tmp_path, "run-b"))
    assert held(tmp_path)["run_id"] == "run-a"
    run_lock.release(Module(), params(tmp_path, "run-a"))
    assert not (tmp_path / "run" / "converge.lock").exists()


def test_check_mode_takes_nothing_and_reports_a_holder(tmp_path) -> None:
    clock = Clock()
    assert acquire(tmp_path, "run-a", clock, Module(check_mode=True))["acquired"] is False
    assert not (tmp_path / "run" / "converge.lock").exists()
    acquire(tmp_path, "run-a", clock)
    module = Module(check_mode=True)
    assert acquire(tmp_path, "run-b", clock, module)["held_by"]["run_id"] == "run-a"
    assert "another run holds the converge lock" in module.warnings[0]


def test_an_unreadable_lock_is_as_fresh_as_its_file(tmp_path) -> None:
    path = tmp_path / "run" / "converge.lock"
    path.parent.mkdir()
    path.write_text("")  # created this instant, its record not written yet
    written = path.stat().st_mtime
    with pytest.raises(Failed, match="unreadable lock file"):
        acquire(tmp_path, "run-b", Clock(written + 10))
    assert acquire(tmp_path, "run-b", Clock(written + 1801))["acquired"] is True, "stale in time"


def test_the_module_takes_and_gives_back_the_lock(tmp_path, run_module) -> None:
    args = params(tmp_path, "run-1")
    taken = run_module(run_lock, args)
    assert taken["exit_code"] == 0 and taken["acquired"] is True, taken
    assert json.loads((tmp_path / "run" / "converge.lock").read_text())["run_id"] == "run-1"
    refused = run_module(run_lock, params(tmp_path, "run-2"))
    assert refused["exit_code"] == 1 and "run-1@laptop" in refused["msg"], refused
    released = run_module(run_lock, {**args, "state": "released"})
    assert released["exit_code"] == 0 and not (tmp_path / "run" / "converge.lock").exists()


A_RECORD = {"run_id": "run-a", "holder": "run-a@laptop", "holder_pid": 42, "playbook": "site.yml",
            "since": 1_000_000.0, "refreshed": 1_000_000.0}
A_HELD = ("held by run-a@laptop (run run-a, site.yml) since 1970-01-12 13:46:40 UTC, "
          "last active 1970-01-12 13:46:40 UTC")


def test_each_answer_whole(tmp_path) -> None:
    clock = Clock()
    assert acquire(tmp_path, "run-a", clock) == {"changed": False, "acquired": True, "waited": 0}
    assert held(tmp_path) == A_RECORD
    clock.now += 0.26
    assert acquire(tmp_path, "run-a", clock) == {"changed": False, "acquired": True, "waited": 0}
    check = Module(check_mode=True)
    assert acquire(tmp_path, "run-b", clock, check) == {
        "changed": False, "acquired": False, "held_by": {**A_RECORD, "refreshed": 1_000_000.26}, "waited": 0}
    assert check.warnings == [f"another run holds the converge lock: {A_HELD}"]
    with pytest.raises(Failed) as failed:
        acquire(tmp_path, "run-b", clock, wait=12, poll=5)
    answer = failed.value.args[0]
    assert (answer["acquired"], answer["waited"], answer["held_by"]["run_id"]) == (False, 15.0, "run-a")
    assert answer["msg"] == (
        f"another run is converging this host: the lock {tmp_path / 'run' / 'converge.lock'} is {A_HELD}; "
        "waited 12 s. Nothing was changed. Run again once it has ended. A lock not active for 1800 s is "
        "taken over as stale; if you know that run is dead, run with -e flowspace_lock_break=true to take "
        "it over now.")
    assert run_lock.release(Module(), params(tmp_path, "run-b")) == {"changed": False, "acquired": False,
                                                                     "waited": 0}
    assert run_lock.release(Module(check_mode=True), params(tmp_path, "run-a"))["acquired"] is False
    assert (tmp_path / "run" / "converge.lock").exists(), "check mode gives nothing back"


def test_a_lock_exactly_at_its_lease_is_not_stale_and_the_wait_ends_on_its_bound(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    clock.now += 1800
    with pytest.raises(Failed):
        acquire(tmp_path, "run-b", clock, wait=0)
    with pytest.raises(Failed) as failed:
        acquire(tmp_path, "run-b", clock, wait=5, poll=5, lease=10**6)
    assert failed.value.args[0]["waited"] == 5.0, "one poll, then the bound is reached"
    clock.now += 1
    stale = Module(check_mode=True)
    assert acquire(tmp_path, "run-b", clock, stale)["acquired"] is False
    assert stale.warnings[0].startswith(
        "the converge lock is stale (held by run-a@laptop (run run-a, site.yml)")
    assert stale.warnings[0].endswith("): a run takes it over")


def test_a_record_without_playbook_or_times_is_still_described(tmp_path) -> None:
    assert run_lock.describe({"holder": "x@ci", "run_id": "r"}) == (
        "held by x@ci (run r) since 1970-01-01 00:00:00 UTC, last active 1970-01-01 00:00:00 UTC")
    assert run_lock.describe({}) == (
        "held by ? (run ?) since 1970-01-01 00:00:00 UTC, last active 1970-01-01 00:00:00 UTC")
    assert run_lock.when(90061) == "1970-01-02 01:01:01 UTC"


def test_the_lock_file_helpers(tmp_path) -> None:
    path = str(tmp_path / "deep" / "run" / "converge.lock")
    assert run_lock.read(path) is None
    assert run_lock.write_new(path, {"run_id": "a"}) is True
    assert (tmp_path / "deep" / "run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "deep" / "run" / "converge.lock").stat().st_mode & 0o777 == 0o644
    assert run_lock.write_new(path, {"run_id": "b"}) is False
    assert run_lock.read(path) == {"run_id": "a"}
    run_lock.refresh(path, {"run_id": "a", "refreshed": 5})
    assert run_lock.read(path) == {"run_id": "a", "refreshed": 5}
    assert [p.name for p in (tmp_path / "deep" / "run").iterdir()] == ["converge.lock"], "no temporary left"
    (tmp_path / "deep" / "run" / "converge.lock").write_text("{half")
    mtime = (tmp_path / "deep" / "run" / "converge.lock").stat().st_mtime
    assert run_lock.read(path) == {"run_id": "?", "holder": "unreadable lock file", "since": mtime,
                                   "refreshed": mtime}


def test_a_stale_lock_is_moved_aside_only_when_it_is_the_one_seen(tmp_path) -> None:
    path = str(tmp_path / "converge.lock")
    run_lock.write_new(path, {"run_id": "dead"})
    assert run_lock.take_over(path, {"run_id": "dead"}) is True
    assert list(tmp_path.iterdir()) == []
    assert run_lock.take_over(path, {"run_id": "dead"}) is True, "gone meanwhile: free"
    run_lock.write_new(path, {"run_id": "fresh"})
    assert run_lock.take_over(path, {"run_id": "dead"}) is False
    assert [p.name for p in tmp_path.iterdir()] == ["converge.lock"]
    assert run_lock.read(path) == {"run_id": "fresh"}, "another run's fresh lock is put back"


def test_whole_results_with_the_wait_to_a_tenth_of_a_second(tmp_path) -> None:
    clock = Clock()
    assert acquire(tmp_path, "run-a", clock) == {"changed": False, "acquired": True, "waited": 0}
    clock.now += 0.25
    assert acquire(tmp_path, "run-a", clock) == {"changed": False, "acquired": True, "waited": 0}
    module = Module(check_mode=True)
    record = held(tmp_path)
    assert acquire(tmp_path, "run-b", clock, module) == {"changed": False, "acquired": False,
                                                         "held_by": record, "waited": 0}
    with pytest.raises(Failed) as failed:
        acquire(tmp_path, "run-b", clock, wait=3, poll=1.25)
    result = failed.value.args[0]
    assert (result["waited"], result["acquired"], result["held_by"]) == (3.8, False, record)

    def sleep_then_release(seconds):
        clock.sleep(seconds)
        run_lock.release(Module(), params(tmp_path, "run-a"))

    taken = run_lock.acquire(Module(), params(tmp_path, "run-b", wait=60, poll=1.25), now=clock,
                             sleep=sleep_then_release)
    assert taken == {"changed": False, "acquired": True, "waited": 1.2}


def test_a_stale_lock_in_check_mode_is_reported_whole(tmp_path) -> None:
    clock = Clock()
    acquire(tmp_path, "run-a", clock)
    record = held(tmp_path)
    clock.now += 1801
    module = Module(check_mode=True)
    assert acquire(tmp_path, "run-b", clock, module) == {"changed": False, "acquired": False,
                                                         "held_by": record, "waited": 0}
    stale = f"the converge lock is stale ({run_lock.describe(record)}): a run takes it over"
    assert module.warnings == [stale]


def test_a_lock_made_by_another_run_after_the_read_is_read_again(tmp_path, monkeypatch) -> None:
    clock = Clock()
    write_new = run_lock.write_new

    def another_run_wins_the_race(path, record):
        monkeypatch.setattr(run_lock, "write_new", write_new)
        write_new(path, {**record, "run_id": "run-other"})
        return write_new(path, record)  # False: the other run's file is there now

    monkeypatch.setattr(run_lock, "write_new", another_run_wins_the_race)
    with pytest.raises(Failed) as failed:
        acquire(tmp_path, "run-b", clock)
    assert failed.value.args[0]["held_by"]["run_id"] == "run-other"


def test_a_lock_with_no_refresh_time_counts_from_the_epoch(tmp_path) -> None:
    path = tmp_path / "run" / "converge.lock"
    path.parent.mkdir()
    path.write_text(json.dumps({"run_id": "run-a", "holder": "a"}))
    clock = Clock(start=1800.5)
    assert acquire(tmp_path, "run-b", clock)["acquired"] is True
