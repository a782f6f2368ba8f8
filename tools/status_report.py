"""One screen per host: services and versions, certificates, connections and rooms now, the
month's egress and its projection, the idle-reclaim figures, the last converge, what needs
attention — read from each host's own Prometheus over SSH (playbooks/status.yml). Exit status 0
when nothing needs attention, 1 when something does, 2 when a host could not be read.

    python tools/status_report.py [-i INVENTORY] [--json] [-- extra ansible-playbook args]
"""

import argparse
import json
import sys
import tempfile
import time

import playbook_run

PLAYBOOK = playbook_run.REPO_ROOT / "playbooks" / "status.yml"


def read(inventory: str | None, extra: list[str]) -> tuple[dict, dict, str]:
    """({host: figures}, {host: why it could not be read}, ansible's last words when it failed early)."""
    figures, unreadable = {}, {}
    with tempfile.TemporaryDirectory(prefix="flowspace-status-") as work:
        runner = playbook_run.run(work, PLAYBOOK, inventory, extra)
        for event in runner.events:
            data = event.get("event_data", {})
            host, result = data.get("host"), data.get("res", {})
            if event["event"] == "runner_on_ok":
                figures[host] = {k: v for k, v in result.items() if not k.startswith("_") and k != "changed"}
            elif event["event"] in ("runner_on_failed", "runner_on_unreachable"):
                unreadable[host] = " ".join(str(result.get("msg", "")).split())[:300]
        last_words = ""
        if runner.rc != 0 and not figures and not unreadable:
            last_words = playbook_run.last_words(runner)[:300]
    return figures, unreadable, last_words


def attention(figures: dict) -> list[str]:
    """What needs someone: alerts firing, a target that cannot be scraped, a service not active."""
    found = [f"{a['name']}: {a['summary'] or a['labels']}" for a in figures.get("alerts", [])]
    # "unknown": not scraped yet (Prometheus has just started or reloaded); one failed scrape is a
    # restart caught in the act; two in a row need someone.
    found += [f"target {t['job']} {t['instance']} is down: {t['error']}".rstrip(": ")
              for t in figures.get("targets", []) if t["health"] == "down" and t.get("failing", True)]
    found += [f"{s['service']} is {s['state']}" for s in figures.get("services", []) if not s.get("active")]
    return found


def cpu(percent: float | None) -> str:
    """% of one core; '-' until the host has two collector runs to compare."""
    return "-" if percent is None else f"{percent:.1f}%"


def size(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return "-"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def ago(epoch: float | None, now: float) -> str:
    if not epoch:
        return "never"
    seconds = max(0, now - epoch)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def reclaim_line(r: dict) -> str:
    covered = r.get("covered_seconds")
    measured = f"{covered / 3600:.1f} h" if covered and covered >= 3600 else f"{(covered or 0) / 60:.0f} min"
    line = (f"  idle reclaim ({r.get('window')}, {measured} measured): "
            f"CPU p95 {number(r.get('cpu_p95_percent'))}%, network {number(r.get('network_percent'))}%, "
            f"memory {number(r.get('memory_percent'))}% (threshold {number(r.get('threshold_percent'))}%)")
    lift = " or ".join(r.get("lift", []))
    if r.get("idle"):
        return f"{line}; IDLE by Oracle's rule: {lift} above the threshold would lift it"
    return f"{line}; not idle ({lift} above the threshold)" if lift else line


def screen(host: str, figures: dict) -> str:
    now = figures.get("time") or time.time()
    lines = [f"== {host}"]
    lines.append(f"  {'SERVICE':<22}{'STATE':<20}{'VERSION':<22}{'RESTARTS':>9}{'RSS':>11}{'CPU 5m':>9}")
    services = figures.get("services", [])
    for s in services:
        lines.append(f"  {s['service'][:21]:<22}{s['state']:<20}{(s['version'] or '-')[:21]:<22}"
                     f"{s.get('restarts', 0):>9}{size(s.get('rss_bytes')):>11}{cpu(s.get('cpu_percent')):>9}")
    total = sum(s.get("rss_bytes", 0) for s in services)
    known_cpu = [s["cpu_percent"] for s in services if s.get("cpu_percent") is not None]
    lines.append(f"  {'all of them':<64}{size(total):>11}{cpu(sum(known_cpu) if known_cpu else None):>9}")
    for c in figures.get("certificates", []):
        lines.append(f"  certificate {c['name']}: expires in {c['days_left']:g} days "
                     f"({time.strftime('%Y-%m-%d', time.gmtime(c['expires']))})")
    if not figures.get("certificates"):
        lines.append("  certificates: none on this host")
    n = figures.get("now", {})
    lines.append(f"  now: {number(n.get('connections'))} connections in {number(n.get('spaces'))} spaces, "
                 f"{number(n.get('rooms'))} rooms with {number(n.get('participants'))} participants")
    e = figures.get("egress", {})
    lines.append(f"  egress this month: {size(e.get('month_bytes'))} of {size(e.get('allowance_bytes'))} "
                 f"({number(e.get('percent'))}%), projected {size(e.get('projected_bytes'))} "
                 f"({number(e.get('projected_percent'))}%) at the month's end")
    lines.append(reclaim_line(figures.get("reclaim", {})))
    lines.append(f"  last converge: {ago(figures.get('last_converge'), now)}")
    needs = attention(figures)
    lines += [f"  ! {item}" for item in needs] if needs else ["  nothing needs attention"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-i", "--inventory", default=None)
    parser.add_argument("--json", action="store_true", help="the figures as JSON, for machines")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more ansible-playbook arguments")
    args = parser.parse_args(argv)
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    figures, unreadable, last_words = read(args.inventory, extra)
    needs = {host: attention(f) for host, f in figures.items()}
    if args.json:
        report = {"hosts": figures, "attention": needs, "unreadable": unreadable}
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        for host in sorted(figures):
            print(screen(host, figures[host]))
        for host, why in sorted(unreadable.items()):
            print(f"== {host}\n  could not be read: {why}")
    if last_words:
        print(f"status could not run: {last_words}", file=sys.stderr)
    if unreadable or last_words or not figures:
        return 2
    return 1 if any(needs.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
