#!/usr/bin/python
"""What this host's Prometheus knows, in one read-only call: the figures ./flowspace status shows."""

DOCUMENTATION = r"""
module: monitoring_status
short_description: Read the stack's figures from the host's own Prometheus
description:
  - Queries the Prometheus the monitoring role runs on the host (on loopback) and returns the
    services with their state, version, restarts and resident memory, the certificates and
    their expiry, connections and rooms now, the month-to-date egress with its projection, the
    idle-reclaim figures, the last converge time, every scrape target's health and the alerts
    firing.
  - Reads the role's settings file for Prometheus' address and the reclaim threshold.
  - Changes nothing. Fails when Prometheus does not answer.
version_added: 0.1.0
author: FlowSpace infra (@flowspace)
options:
  settings_file:
    description: The monitoring role's settings (written by the role).
    type: path
    default: /etc/flowspace-monitoring/host-metrics.json
  timeout:
    description: Seconds to wait for each answer from Prometheus.
    type: float
    default: 10
extends_documentation_fragment:
  - flowspace.infra.read_only
"""

EXAMPLES = r"""
- name: Read the host's figures
  flowspace.infra.monitoring_status:
  register: figures
"""

RETURN = r"""
services:
  description: Each watched unit - service name, unit, active, state, version, restarts, rss_bytes,
    cpu_percent (of one core, over the last five minutes; absent until two collector runs are in).
  returned: always
  type: list
  elements: dict
certificates:
  description: Each certificate the edge holds - name, expires (epoch seconds), days_left.
  returned: always
  type: list
  elements: dict
now:
  description: connections (socket processes), rooms and participants (LiveKit).
  returned: always
  type: dict
egress:
  description: month_bytes, allowance_bytes, percent, projected_bytes, projected_percent, counted_since.
  returned: always
  type: dict
reclaim:
  description: >-
    cpu_p95_percent, network_percent, memory_percent, threshold_percent, window, covered_seconds, idle
    (all three under the threshold), lift (the figures already over it, or those that would lift it).
  returned: always
  type: dict
last_converge:
  description: When the host was last converged (epoch seconds), or null.
  returned: always
  type: float
targets:
  description: Each scrape target - job, instance, health and error of its last scrape, and failing
    (its last two scrapes, or its only one, failed).
  returned: always
  type: list
  elements: dict
alerts:
  description: Alerts firing now - name, severity, summary, labels.
  returned: always
  type: list
  elements: dict
"""

import json
import re
import urllib.error
import urllib.parse

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import Request, make_context

CPU_WINDOW = "5m"


class Prometheus:
    def __init__(self, base_url, timeout):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        # One TLS context for the ~25 queries of a run: open_url would load the CA store for
        # each (tens of ms apiece), though the default URL is plain HTTP on loopback.
        self.request = Request(timeout=timeout)
        self.context = make_context()

    def get(self, path, **params):
        url = f"{self.base_url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with self.request.open("GET", url, context=self.context) as answer:
            body = json.load(answer)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body.get('error', body)}")
        return body["data"]

    def vector(self, query):
        data = self.get("/api/v1/query", query=query)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(sample["metric"], float(sample["value"][1])) for sample in data["result"]]

    def scalar(self, query):
        found = self.vector(query)
        return found[0][1] if found else None


def percent(value):
    return None if value is None else round(value * 100, 2)


def services(prom):
    by_unit = {}
    for labels, _present in prom.vector("max by (unit, service, state, version) (flowspace_unit_info)"):
        by_unit[labels["unit"]] = {"service": labels.get("service", labels["unit"]), "unit": labels["unit"],
                                   "state": labels.get("state", ""), "version": labels.get("version", "")}
    for name, key in (("flowspace_unit_active", "active"), ("flowspace_unit_restarts_total", "restarts"),
                      ("flowspace_unit_memory_rss_bytes", "rss_bytes")):
        for labels, value in prom.vector(f"max by (unit) ({name})"):
            if labels.get("unit") in by_unit:
                by_unit[labels["unit"]][key] = bool(value) if key == "active" else int(value)
    # CPU over the last five minutes, in % of one core (the collector's count of the unit's cgroup).
    for labels, value in prom.vector(f"max by (unit) (rate(flowspace_unit_cpu_seconds_total[{CPU_WINDOW}]))"):
        if labels.get("unit") in by_unit:
            by_unit[labels["unit"]]["cpu_percent"] = round(value * 100, 2)
    return sorted(by_unit.values(), key=lambda s: s["service"])


def certificates(prom, now):
    found = prom.vector("min by (name) (flowspace_certificate_expiry_seconds)")
    return sorted(({"name": labels.get("name", ""), "expires": value,
                    "days_left": round((value - now) / 86400, 1)} for labels, value in found),
                  key=lambda c: c["name"])


def now_of(prom, record):
    """A recorded figure as of now: its rule's own expression evaluated at this instant (the
    recorded series lags by up to an evaluation interval, which right after a burst of traffic
    put the projection below the month so far)."""
    rules = [rule for group in prom.get("/api/v1/rules", type="record")["groups"] for rule in group["rules"]
             if rule.get("name") == record]
    return prom.scalar(rules[0]["query"] if rules else record)


def egress(prom):
    month = prom.scalar("max(flowspace_egress_month_bytes)")
    allowance = prom.scalar("max(flowspace_egress_allowance_bytes)")
    projected = now_of(prom, "flowspace:egress_projected_month_bytes")
    return {"month_bytes": month, "allowance_bytes": allowance,
            "percent": percent(month / allowance) if month is not None and allowance else None,
            "projected_bytes": projected,
            "projected_percent": percent(projected / allowance)
            if projected is not None and allowance else None,
            "counted_since": prom.scalar("max(flowspace_egress_counted_since_seconds)")}


def reclaim(prom, settings):
    threshold = float(settings.get("reclaim_threshold_percent", 20))
    figures = {name: percent(prom.scalar(f"flowspace:reclaim_{name}:ratio"))
               for name in ("cpu_p95", "network", "memory")}
    known = {name: value for name, value in figures.items() if value is not None}
    idle = len(known) == 3 and all(value < threshold for value in known.values())
    # Oracle reclaims only when all three are under the threshold: any one over it is enough.
    over = sorted(name for name, value in known.items() if value >= threshold)
    closest = max(known, key=lambda name: known[name] / threshold) if known else None
    return {**{f"{name}_percent": value for name, value in figures.items()}, "threshold_percent": threshold,
            "window": settings.get("reclaim_window", "7d"),
            "covered_seconds": prom.scalar("flowspace:reclaim_window_seconds_covered"), "idle": idle,
            "lift": over or ([closest] if closest else [])}


def now_figures(prom):
    return {"connections": prom.scalar('sum(flowspace_connections{job="socket"})'),
            "spaces": prom.scalar('sum(flowspace_spaces{job="socket"})'),
            "rooms": prom.scalar('sum(livekit_room_total{job="livekit"})'),
            "participants": prom.scalar('sum(livekit_participant_total{job="livekit"})')}


def seconds_of(duration):
    """A Prometheus duration ("30s", "1m30s", "500ms") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(float(n) * units[unit] for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|[smhdwy])", duration))


def failing(prom, target):
    """Whether the target's last two scrapes both failed (or its only one): one failed scrape is
    a restart caught in the act, not something for someone to look at."""
    span = max(int(2 * seconds_of(target.get("scrapeInterval", "30s")) - 1), 1)
    selector = ",".join(f'{name}="{value}"' for name, value in sorted(target["labels"].items())
                        if name in ("job", "instance"))
    best = prom.scalar(f"max(max_over_time(up{{{selector}}}[{span}s]))")
    return best is None or best == 0


def targets(prom):
    return sorted(({"job": t["labels"].get("job", ""), "instance": t["labels"].get("instance", ""),
                    "health": t.get("health", ""), "error": t.get("lastError", ""),
                    "failing": t.get("health") == "down" and failing(prom, t)}
                   for t in prom.get("/api/v1/targets", state="active")["activeTargets"]),
                  key=lambda t: (t["job"], t["instance"]))


def alerts(prom):
    return sorted(({"name": a["labels"].get("alertname", ""), "severity": a["labels"].get("severity", ""),
                    "summary": " ".join(a.get("annotations", {}).get("summary", "").split()),
                    "labels": {k: v for k, v in a["labels"].items() if k not in ("alertname", "severity")}}
                   for a in prom.get("/api/v1/alerts")["alerts"] if a.get("state") == "firing"),
                  key=lambda a: (a["name"], sorted(a["labels"].items())))


def main():
    module = AnsibleModule(
        argument_spec={"settings_file": {"type": "path",
                                         "default": "/etc/flowspace-monitoring/host-metrics.json"},
                       "timeout": {"type": "float", "default": 10}},
        supports_check_mode=True,
    )
    try:
        with open(module.params["settings_file"]) as handle:
            settings = json.load(handle)
    except (OSError, ValueError) as error:
        module.fail_json(msg=f"no monitoring settings at {module.params['settings_file']} ({error}): "
                             "has the monitoring role run on this host?")
    prom = Prometheus(settings.get("prometheus_url", "http://127.0.0.1:9090"), module.params["timeout"])
    try:
        now = prom.scalar("time()")
        result = {"services": services(prom), "certificates": certificates(prom, now),
                  "now": now_figures(prom),
                  "egress": egress(prom), "reclaim": reclaim(prom, settings),
                  "last_converge": prom.scalar("max(flowspace_last_converge_seconds)"),
                  "targets": targets(prom), "alerts": alerts(prom), "time": now}
    except (OSError, urllib.error.URLError, RuntimeError, ValueError, KeyError) as error:
        module.fail_json(msg=f"Prometheus at {prom.base_url} did not answer as expected: {error}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
