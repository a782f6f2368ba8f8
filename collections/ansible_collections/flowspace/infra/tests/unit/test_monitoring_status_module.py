"""monitoring_status's main() against a loopback server that answers Prometheus's HTTP API as
documented (status/data envelopes, vector and scalar results) from a scripted set of series:
every figure of `./flowspace status` as the module reports it, and its errors."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.flowspace.infra.plugins.modules import monitoring_status

NOW = 1_800_000_000.0
DAY = 86400
SERIES = {
    "time()": ("scalar", NOW),
    "max by (unit, service, state, version) (flowspace_unit_info)": [
        ({"unit": "caddy.service", "service": "caddy", "state": "active", "version": "2.11.9"}, 1),
        ({"unit": "livekit.service", "service": "livekit", "state": "failed", "version": "1.9.0"}, 1)],
    "max by (unit) (flowspace_unit_active)": [
        ({"unit": "caddy.service"}, 1), ({"unit": "livekit.service"}, 0), ({"unit": "other.service"}, 1)],
    "max by (unit) (flowspace_unit_restarts_total)": [({"unit": "livekit.service"}, 3)],
    "max by (unit) (flowspace_unit_memory_rss_bytes)": [({"unit": "caddy.service"}, 52428800)],
    "max by (unit) (rate(flowspace_unit_cpu_seconds_total[5m]))": [({"unit": "caddy.service"}, 0.01234)],
    "min by (name) (flowspace_certificate_expiry_seconds)": [
        ({"name": "socket.example.test"}, NOW + 30 * DAY),
        ({"name": "livekit.example.test"}, NOW + 2.5 * DAY)],
    'sum(flowspace_connections{job="socket"})': [({}, 12)],
    'sum(flowspace_spaces{job="socket"})': [({}, 3)],
    'sum(livekit_room_total{job="livekit"})': [({}, 2)],
    'sum(livekit_participant_total{job="livekit"})': [({}, 5)],
    "max(flowspace_egress_month_bytes)": [({}, 1e12)],
    "max(flowspace_egress_allowance_bytes)": [({}, 1e13)],
    "sum(rate(x[1h])) * 30 * 86400": [({}, 4e12)],
    "max(flowspace_egress_counted_since_seconds)": [({}, NOW - 10 * DAY)],
    "flowspace:reclaim_cpu_p95:ratio": [({}, 0.05)],
    "flowspace:reclaim_network:ratio": [({}, 0.5)],
    "flowspace:reclaim_memory:ratio": [({}, 0.1)],
    "flowspace:reclaim_window_seconds_covered": [({}, 3 * DAY)],
    "max(flowspace_last_converge_seconds)": [({}, NOW - 3600)],
    'max(max_over_time(up{instance="127.0.0.1:9100",job="node"}[59s]))': [({}, 0)],
    'max(max_over_time(up{instance="127.0.0.1:7880",job="livekit"}[59s]))': [({}, 1)],
}
RULES = {"groups": [{"rules": [{"name": "flowspace:egress_projected_month_bytes",
                                "query": "sum(rate(x[1h])) * 30 * 86400"}]}]}
TARGETS = {"activeTargets": [
    {"labels": {"job": "node", "instance": "127.0.0.1:9100"}, "health": "down", "lastError": "refused",
     "scrapeInterval": "30s"},
    {"labels": {"job": "livekit", "instance": "127.0.0.1:7880"}, "health": "down", "lastError": "timeout",
     "scrapeInterval": "30s"},
    {"labels": {"job": "caddy", "instance": "127.0.0.1:2019"}, "health": "up", "lastError": "",
     "scrapeInterval": "30s"}]}
ALERTS = {"alerts": [
    {"labels": {"alertname": "ServiceDown", "severity": "critical", "unit": "livekit.service"},
     "annotations": {"summary": "livekit   is\n down"}, "state": "firing"},
    {"labels": {"alertname": "Pending", "severity": "warning"}, "annotations": {}, "state": "pending"}]}


class PrometheusApi(BaseHTTPRequestHandler):
    answers = None  # set per server: path -> data, or a whole body
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.answers.setdefault("asked", []).append((url.path, query))
        if url.path == "/api/v1/query":
            found = self.answers["series"].get(query["query"], [])
            if isinstance(found, tuple):
                data = {"resultType": "scalar", "result": [NOW, str(found[1])]}
            else:
                data = {"resultType": "vector",
                        "result": [{"metric": labels, "value": [NOW, str(value)]} for labels, value in found]}
        else:
            data = self.answers.get(url.path)
        body = self.answers.get("error") or {"status": "success", "data": data}
        raw = json.dumps(body).encode()
        self.send_response(self.answers.get("http_status", 200))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def prometheus():
    answers = {"series": dict(SERIES), "/api/v1/rules": RULES, "/api/v1/targets": TARGETS,
               "/api/v1/alerts": ALERTS}
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (PrometheusApi,), {"answers": answers}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield answers, f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.shutdown, daemon=True).start()


@pytest.fixture
def status(prometheus, tmp_path, run_module):
    def run(**settings):
        settings_file = tmp_path / "host-metrics.json"
        settings_file.write_text(json.dumps({"prometheus_url": prometheus[1], **settings}))
        return run_module(monitoring_status, {"settings_file": str(settings_file), "timeout": 5})

    return run


def test_every_figure_as_the_host_reports_it(status) -> None:
    result = status(reclaim_threshold_percent=20, reclaim_window="7d")
    assert (result["exit_code"], result["changed"], result["time"]) == (0, False, NOW), result
    assert result["services"] == [
        {"service": "caddy", "unit": "caddy.service", "state": "active", "version": "2.11.9", "active": True,
         "rss_bytes": 52428800, "cpu_percent": 1.23},
        {"service": "livekit", "unit": "livekit.service", "state": "failed", "version": "1.9.0",
         "active": False, "restarts": 3}]
    assert result["certificates"] == [
        {"name": "livekit.example.test", "expires": NOW + 2.5 * DAY, "days_left": 2.5},
        {"name": "socket.example.test", "expires": NOW + 30 * DAY, "days_left": 30.0}]
    assert result["now"] == {"connections": 12, "spaces": 3, "rooms": 2, "participants": 5}
    assert result["egress"] == {"month_bytes": 1e12, "allowance_bytes": 1e13, "percent": 10.0,
                                "projected_bytes": 4e12, "projected_percent": 40.0,
                                "counted_since": NOW - 10 * DAY}
    assert result["reclaim"] == {"cpu_p95_percent": 5.0, "network_percent": 50.0, "memory_percent": 10.0,
                                 "threshold_percent": 20.0, "window": "7d", "covered_seconds": 3 * DAY,
                                 "idle": False, "lift": ["network"]}
    assert result["last_converge"] == NOW - 3600
    assert result["targets"] == [
        {"job": "caddy", "instance": "127.0.0.1:2019", "health": "up", "error": "", "failing": False},
        {"job": "livekit", "instance": "127.0.0.1:7880", "health": "down", "error": "timeout",
         "failing": False},
        {"job": "node", "instance": "127.0.0.1:9100", "health": "down", "error": "refused", "failing": True}]
    assert result["alerts"] == [{"name": "ServiceDown", "severity": "critical", "summary": "livekit is down",
                                 "labels": {"unit": "livekit.service"}}]


def test_idle_only_when_all_three_are_under_the_line(prometheus, status) -> None:
    prometheus[0]["series"]["flowspace:reclaim_network:ratio"] = [({}, 0.19)]
    reclaim = status()["reclaim"]
    assert (reclaim["idle"], reclaim["lift"], reclaim["threshold_percent"]) == (True, ["network"], 20.0)
    assert status(reclaim_threshold_percent=15)["reclaim"]["idle"] is False
    del prometheus[0]["series"]["flowspace:reclaim_memory:ratio"]
    unknown = status()["reclaim"]
    assert (unknown["memory_percent"], unknown["idle"]) == (None, False)


def test_no_allowance_and_no_recording_rule_leave_the_percentages_empty(prometheus, status) -> None:
    prometheus[0]["/api/v1/rules"] = {"groups": []}
    del prometheus[0]["series"]["max(flowspace_egress_allowance_bytes)"]
    egress = status()["egress"]
    assert (egress["percent"], egress["projected_percent"], egress["projected_bytes"]) == (None, None, None)


def test_a_host_without_the_monitoring_settings_is_named(run_module, tmp_path) -> None:
    missing = run_module(monitoring_status, {"settings_file": str(tmp_path / "none.json")})
    assert missing["exit_code"] == 1
    assert missing["msg"].startswith(f"no monitoring settings at {tmp_path / 'none.json'} (")
    assert missing["msg"].endswith("has the monitoring role run on this host?")


def test_a_prometheus_that_refuses_or_is_not_there_is_named(prometheus, status, run_module, tmp_path) -> None:
    prometheus[0]["error"] = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    refused = status()
    assert refused["exit_code"] == 1
    said = f"Prometheus at {prometheus[1]} did not answer as expected: "
    assert refused["msg"] == said + "/api/v1/query: parse error"
    prometheus[0]["error"] = {"status": "error"}
    assert status()["msg"].endswith("/api/v1/query: {'status': 'error'}")
    prometheus[0]["http_status"] = 400
    assert status()["msg"].startswith(said + "HTTP Error 400")
    settings = tmp_path / "gone.json"
    settings.write_text(json.dumps({"prometheus_url": "http://127.0.0.1:9/"}))
    gone = run_module(monitoring_status, {"settings_file": str(settings), "timeout": 2})
    assert gone["exit_code"] == 1 and "Prometheus at http://127.0.0.1:9 did not answer" in gone["msg"]


def test_labels_and_fields_prometheus_leaves_out_have_plain_defaults(prometheus, status) -> None:
    series = prometheus[0]["series"]
    series["max by (unit, service, state, version) (flowspace_unit_info)"] = [({"unit": "bare.service"}, 1)]
    series["max by (unit) (flowspace_unit_active)"] = [({"unit": "bare.service"}, 0.0)]
    series["max by (unit) (flowspace_unit_restarts_total)"] = [({"unit": "bare.service"}, 2.9)]
    series["min by (name) (flowspace_certificate_expiry_seconds)"] = [({}, NOW)]
    prometheus[0]["/api/v1/targets"] = {"activeTargets": [{"labels": {}}]}
    prometheus[0]["/api/v1/alerts"] = {"alerts": [{"labels": {}, "state": "firing"}]}
    result = status()
    assert result["services"] == [{"service": "bare.service", "unit": "bare.service", "state": "",
                                   "version": "", "active": False, "restarts": 2}]
    assert result["certificates"] == [{"name": "", "expires": NOW, "days_left": 0.0}]
    assert result["targets"] == [{"job": "", "instance": "", "health": "", "error": "", "failing": False}]
    assert result["alerts"] == [{"name": "", "severity": "", "summary": "", "labels": {}}]
    assert result["reclaim"]["window"] == "7d" and result["reclaim"]["threshold_percent"] == 20.0
    assert ("/api/v1/targets", {"state": "active"}) in prometheus[0]["asked"]
    assert ("/api/v1/rules", {"type": "record"}) in prometheus[0]["asked"]


def test_a_figure_on_the_line_counts_as_over_it_and_the_nearest_is_named(prometheus, status) -> None:
    series = prometheus[0]["series"]
    series["flowspace:reclaim_network:ratio"] = [({}, 0.2)]
    on_the_line = status()["reclaim"]
    assert (on_the_line["idle"], on_the_line["lift"]) == (False, ["network"])
    series["flowspace:reclaim_network:ratio"] = [({}, 0.02)]
    series["flowspace:reclaim_memory:ratio"] = [({}, 0.15)]
    idle = status()["reclaim"]
    assert (idle["idle"], idle["lift"]) == (True, ["memory"])


def test_failing_reads_the_last_two_scrapes_of_the_targets_interval(prometheus, status) -> None:
    prometheus[0]["/api/v1/targets"] = {"activeTargets": [
        {"labels": {"job": "node", "instance": "127.0.0.1:9100"}, "health": "down",
         "scrapeInterval": "1m30s"},
        {"labels": {"job": "livekit", "instance": "127.0.0.1:7880"}, "health": "down"}]}
    status()
    asked = [q["query"] for path, q in prometheus[0]["asked"] if "max_over_time" in q.get("query", "")]
    assert sorted(asked) == ['max(max_over_time(up{instance="127.0.0.1:7880",job="livekit"}[59s]))',
                             'max(max_over_time(up{instance="127.0.0.1:9100",job="node"}[179s]))']


@pytest.mark.parametrize(("duration", "seconds"), [
    ("500ms", 0.5), ("30s", 30), ("1m30s", 90), ("2h", 7200), ("1d", 86400), ("1w", 604800),
    ("1y", 31536000), ("1.5s", 1.5), ("", 0)])
def test_prometheus_durations_in_seconds(duration, seconds) -> None:
    assert monitoring_status.seconds_of(duration) == seconds
