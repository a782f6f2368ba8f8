"""What every service of the stack costs when nobody uses it: resident memory and CPU (in % of one
core) of each unit on the converged lab host, read the way `./flowspace status` reads them (the
host's own Prometheus: the collector's count of each unit's cgroup), once the CPU window holds
no converge (a converge restarts things and compiles nothing, but its work would count).

Side by side: the stack's own services against the monitoring that watches them, so the cost of
watching is a figure of its own.

    python tools/bench_footprint.py [--settle 330] [--json FILE]
"""

import argparse
import sys
import time

import bench_results  # tools/, beside this script
from status_report import read

INVENTORY = "inventories/lab/hosts.yml"
MONITORING = {"prometheus", "node-exporter", "alertmanager"}


def settled_figures(settle: float) -> tuple[str, dict]:
    """The lab host's figures once SETTLE seconds have passed since its last converge."""
    while True:
        figures, unreadable, last_words = read(INVENTORY, [])
        if not figures:
            raise SystemExit(f"the lab host could not be read: {unreadable or last_words}")
        host, found = next(iter(figures.items()))
        services = found.get("services", [])
        # Until Prometheus has scraped the collector, it knows neither the converge nor a service.
        waited = time.time() - found["last_converge"] if found.get("last_converge") else 0
        if waited >= settle and services and all(s.get("cpu_percent") is not None for s in services):
            return host, found
        pause = max(settle - waited, 30)
        print(f"waiting {pause:.0f} s for a window without the converge in it", flush=True)
        time.sleep(pause)


def table(services: list[dict]) -> list[str]:
    lines = [f"{'service':<20} {'version':<14} {'RSS MB':>8} {'CPU % of a core':>16}"]
    groups = (("the stack", [s for s in services if s["service"] not in MONITORING]),
              ("the monitoring", [s for s in services if s["service"] in MONITORING]))
    for name, members in groups:
        for s in members:
            lines.append(f"{s['service'][:19]:<20} {(s['version'] or '-')[:13]:<14} "
                         f"{s['rss_bytes'] / 1e6:>8.1f} {s['cpu_percent']:>16.2f}")
        lines.append(f"{'  ' + name:<35} {sum(s['rss_bytes'] for s in members) / 1e6:>8.1f} "
                     f"{sum(s['cpu_percent'] for s in members):>16.2f}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=330,
                        help="seconds after the last converge before reading (the CPU window is 5 min)")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    host, figures = settled_figures(args.settle)
    services = [s for s in figures["services"] if s.get("active")]
    machine = bench_results.machine()
    print(f"== {host}, idle, {machine['cores']} cores, load {machine['loadavg'][0]:.2f}")
    print("\n".join(table(services)))
    bench_results.write(args.json, host=host, services=services)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
