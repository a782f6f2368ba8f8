"""monitoring_status's reading of scrape targets: a target is failing only when its last two
scrapes failed (or its only one), so a restart caught by one scrape is not reported."""

import re

import pytest

from ansible_collections.flowspace.infra.plugins.modules.monitoring_status import seconds_of, targets


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
