"""monitoring_status's reading of scrape targets: a target is failing only when its last two
scrapes failed (or its only one), so a restart caught by one scrape is not reported."""

import re

import pytest

from ansible_collections.flowspace.infra.plugins.modules.monitoring_status import reclaim, seconds_of, targets


class ScriptedPrometheus:
    """Answers the targets API and `max(max_over_time(up{...}[Ns]))` from a scripted history of
    (seconds ago, up) per job."""

    def __init__(self, history: dict, interval: str = "30s"):
        self.history, self.interval, self.queries = history, interval, []

    def get(self, path, **_params):
        assert path == "/api/v1/targets"
        return {"activeTargets": [
            {"labels": {"job": job, "instance": f"127.0.0.1:{9000 + i}"}, "scrapeInterval": self.interval,
             "health": "up" if samples[0][1] else "down", "lastError": "" if samples[0][1] else "refused"}
            for i, (job, samples) in enumerate(sorted(self.history.items()))]}

    def scalar(self, query):
        self.queries.append(query)
        job, span = re.fullmatch(r'max\(max_over_time\(up\{instance="[^"]+",job="(\w+)"\}\[(\d+)s\]\)\)',
                                 query).groups()
        inside = [up for ago, up in self.history[job] if ago < int(span)]
        return float(max(inside)) if inside else None


def test_one_failed_scrape_after_good_ones_is_not_failing_two_are() -> None:
    prom = ScriptedPrometheus({"caddy": [(2, 0), (32, 1), (62, 1)],   # restarted between scrapes
                               "livekit": [(2, 0), (32, 0), (62, 1)],  # down for two scrapes
                               "socket": [(5, 0)],                     # new, and down
                               "node": [(5, 1), (35, 1)]})
    found = {t["job"]: t for t in targets(prom)}
    assert {job: t["failing"] for job, t in found.items()} == {
        "caddy": False, "livekit": True, "socket": True, "node": False}
    assert found["caddy"]["health"] == "down" and found["caddy"]["error"] == "refused"
    assert all("[59s]" in query for query in prom.queries), prom.queries
    assert len(prom.queries) == 3, "healthy targets cost no query"


@pytest.mark.parametrize(("duration", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200)])
def test_prometheus_durations(duration: str, seconds: float) -> None:
    assert seconds_of(duration) == seconds


class Figures:
    """Answers the reclaim rules' ratios (None: no data yet)."""

    def __init__(self, cpu, network, memory):
        self.values = {"cpu_p95": cpu, "network": network, "memory": memory}

    def scalar(self, query):
        match = re.fullmatch(r"flowspace:reclaim_(\w+):ratio", query)
        return self.values[match.group(1)] if match else 3600.0


@pytest.mark.parametrize(("cpu", "network", "memory", "idle", "lift"), [
    (0.05, 0.05, 0.05, True, ["memory"]),     # all under: reclaimable; the closest named
    (0.05, 0.05, 0.30, False, ["memory"]),    # one over is enough to be safe
    (0.30, 0.05, 0.05, False, ["cpu_p95"]),
    (0.05, 0.50, 0.30, False, ["memory", "network"]),
    (0.20, 0.05, 0.05, False, ["cpu_p95"]),   # at the line is not under it
    (0.05, 0.05, None, False, ["cpu_p95"]),   # a missing figure is not proof of idleness
])
def test_idle_only_when_every_figure_is_under_the_line(cpu, network, memory, idle, lift) -> None:
    figures = Figures(cpu, network, 0.06 if memory == 0.05 and idle else memory)
    found = reclaim(figures, {"reclaim_threshold_percent": 20})
    assert found["idle"] is idle
    assert found["lift"] == lift
