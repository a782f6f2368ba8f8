"""LiveKit capacity of this project's configuration, side by side in one run with
`livekit-server --dev` (its stock settings) on the same lab host: real WebRTC participants
(LiveKit's Python SDK, labkit/clients/livekit_load.py) in audio rooms — one speaker and many
listeners, and all-talk rooms of six — stepped up until packets are lost or the round trip
grows, with the server's CPU per participant.

Both servers are the same livekit-server binary on the same converged lab host, reached the
same way (wss through the host's Caddy, media over UDP to the host). Ours is the deployed unit
(livekit.yaml, the unit's limits, its UDP port range); for the stock one the unit is stopped and
`livekit-server --dev` runs in its place as a transient unit, its single UDP port moved to the
start of the range the host's firewall opens (nothing else differs). The unit is started again
afterwards, whatever happened.

    python tools/bench_livekit.py [--listeners 10,20,40] [--talk-rooms 1,2,4] [--seconds 15] [--json FILE]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_results  # noqa: E402 - tools/, beside this script

from labkit.checks.stack_check import lab_stack  # noqa: E402 - after the path above
from labkit.clients.livekit_clients import LiveKitClients  # noqa: E402
from labkit.lab import hosts  # noqa: E402
from labkit.lab.inventory import Inventory  # noqa: E402

# --dev's secret is shorter than PyJWT's advice for HMAC keys; it is what the stock server takes.
warnings.filterwarnings("ignore", message=".*HMAC key.*")
LOAD = Path(__file__).resolve().parent.parent / "labkit" / "clients" / "livekit_load.py"
STOCK_UNIT = "flowspace-bench-livekit-dev"
DEV_KEY, DEV_SECRET = "devkey", "secret"  # what --dev accepts
# Where a step counts as degraded: audio lost, its timing torn (jitter), or the server slow to
# answer (the ICE round trip, which a loaded server's consent checks stretch).
DEGRADED = {"loss_percent": 2.0, "jitter_ms_p99": 30.0, "rtt_ms_p50": 100.0}
TALK_ROOM = 6


class Server:
    """One of the two servers on the lab host: started, measured, stopped."""

    def __init__(self, host: hosts.Host, name: str, key: str, secret: str):
        self.host, self.name, self.key, self.secret = host, name, key, secret

    def pid(self) -> int:
        unit = "livekit" if self.name == "ours" else STOCK_UNIT
        shown = self.host.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip()
        return int(shown or 0)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, from the host's /proc."""
        fields = self.host.exec("cat", f"/proc/{self.pid()}/stat").stdout.rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def start(host: hosts.Host, which: str, udp_port: int, port: int) -> None:
    # Whichever ran before goes first (a transient unit lingers until it is collected).
    host.exec("sh", "-c", f"systemctl stop livekit {STOCK_UNIT}; systemctl reset-failed {STOCK_UNIT}",
              check=False)
    if which == "ours":
        host.exec("systemctl", "start", "livekit")
    else:
        host.exec("systemd-run", f"--unit={STOCK_UNIT}", "--collect", "--quiet",
                  "/usr/local/bin/livekit-server", "--dev", "--bind", "127.0.0.1", "--port", str(port),
                  "--udp-port", str(udp_port))
    # Ready when its root answers 200 (before that, joins get 503: no node available yet).
    ready = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)"
    deadline = time.monotonic() + 30
    while host.exec("python3", "-c", ready, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"{which} LiveKit did not answer on {port} within 30 s")
        time.sleep(0.5)
    time.sleep(2)


def plan(clients: LiveKitClients, step: str, size: int, tag: str) -> dict:
    """The rooms of one step: ('listen', N) one speaker and N listeners; ('talk', R) R rooms of six
    speakers."""
    rooms = []
    if step == "listen":
        name = f"bench-{tag}-listen"
        rooms.append({"name": name, "speakers": [clients.token("speaker", name)],
                      "listeners": [clients.token(f"listener-{i}", name) for i in range(size)]})
    else:
        for r in range(size):
            name = f"bench-{tag}-talk-{r}"
            talkers = [clients.token(f"talker-{i}", name) for i in range(TALK_ROOM)]
            rooms.append({"name": name, "speakers": talkers, "listeners": []})
    return {"rooms": rooms}


def degraded(found: dict) -> bool:
    everyone_in = found.get("joined") == found.get("participants") == found.get("heard_every_speaker")
    return not everyone_in or any(found.get(key, 1e9) > limit for key, limit in DEGRADED.items())


def run_step(server: Server, clients: LiveKitClients, work: Path, step: tuple[str, int],
             seconds: float) -> dict:
    spec = plan(clients, *step, f"{server.name}-{int(time.time())}")
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(spec))
    command, env = clients.pinned_command(work, str(LOAD), f"wss://{clients.domain}", str(plan_file),
                                          str(seconds))
    before, wall = server.cpu_seconds(), time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 240, check=False)
    cpu = (server.cpu_seconds() - before) / (time.monotonic() - wall)
    lines = run.stdout.strip().splitlines()
    if not lines:
        return {"error": f"the load exited {run.returncode}: {run.stderr[-1500:]}", "degraded": True}
    found = json.loads(lines[-1])
    count = found.get("participants", 0)
    found.update({"server_cpu_percent": round(100 * cpu, 1),
                  "cpu_percent_per_participant": round(100 * cpu / count, 2) if count else 0.0})
    return found | {"degraded": degraded(found)}


def row_text(label: str, server: str, found: dict) -> str:
    text = (f"{label:<28} {server:<12} {found.get('joined', 0):>3}/{found.get('participants', 0):<3} "
            f"{found.get('heard_every_speaker', 0):>5} {found.get('loss_percent', 100):>7} "
            f"{found.get('jitter_ms_p99', 0):>8} ms {found.get('rtt_ms_p50', 0):>6} ms "
            f"{found.get('server_cpu_percent', 0):>6} {found.get('cpu_percent_per_participant', 0):>9}")
    text += "  degraded" if found.get("degraded") else ""
    return text + (f"  {found['error']}" if "error" in found else "")


HEADER = (f"{'step':<28} {'server':<12} {'joined':>7} {'heard':>5} {'loss %':>7} {'jitter p99':>11} "
          f"{'rtt p50':>9} {'CPU %':>6} {'CPU %/one':>9}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", default="10,20,40", help="listeners of one speaker, per step")
    parser.add_argument("--talk-rooms", default="1,2,4", help="all-talk rooms of six, per step")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)

    stack, lab = lab_stack(), Inventory()
    name = lab.hosts()[0]
    host = hosts.Host(name, "", 0)
    port = int(lab.value(name, "livekit_port") or 7880)
    udp_port = int(lab.value(name, "livekit_rtc_port_range_start") or 50000)
    servers = {"ours": Server(host, "ours", stack.livekit_key, stack.livekit_secret),
               "stock --dev": Server(host, "stock", DEV_KEY, DEV_SECRET)}
    steps = ([("listen", int(n)) for n in args.listeners.split(",") if n]
             + [("talk", int(n)) for n in args.talk_rooms.split(",") if n])
    rows, stopped = [], {label: set() for label in servers}
    print(HEADER, flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="flowspace-bench-livekit-") as work:
            for kind, size in steps:
                label = f"1 speaker, {size} listeners" if kind == "listen" else f"{size} room(s) of 6 talking"
                # Alternating servers step by step: the machine's drift falls on both alike.
                for server_label, server in servers.items():
                    if kind in stopped[server_label]:
                        continue  # degraded at a smaller step of this kind already
                    start(host, server.name, udp_port, port)
                    clients = LiveKitClients(stack.livekit_domain, stack.address, stack.ca_file,
                                             server.key, server.secret)
                    found = run_step(server, clients, Path(work), (kind, size), args.seconds)
                    rows.append({"step": kind, "size": size, "label": label, "server": server_label, **found})
                    if found["degraded"]:
                        stopped[server_label].add(kind)
                    print(row_text(label, server_label, found), flush=True)
    finally:
        start(host, "ours", udp_port, port)
    bench_results.write(args.json, degraded_when=DEGRADED, runs=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
