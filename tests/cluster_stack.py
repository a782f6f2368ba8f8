"""The stack scaled out over several OCI-like hosts on one Docker network, converged by
site.yml as production runs it: an edge that also runs Redis, and two nodes that each run two
socket processes and a LiveKit node. A host outside the inventory sits on the same network,
and extra addresses on the network's bridge let the test's clients come from several sources
(the edge keeps each source on one socket process). test_scale_out.py uses it."""

import ipaddress
import json
import re
import subprocess
from pathlib import Path

from ansible_run import PlaybookRun, run_drift_report, run_playbook, ssh_host_vars
from labkit.checks import stack_check
from labkit.clients import edge_client, socket_tokens
from labkit.clients.socketio_client import Player
from labkit.clients.vercel_client import EmulatorClient
from labkit.lab import hosts
from labkit.standins import pebble, vercel_emulator
from site_stack import APP_ORIGIN, PROJECT, TOKEN

NETWORK = "flowspace-pytest-cluster"
SUBNET = ipaddress.ip_network("10.213.7.0/24")
# name -> (groups, last octet, SSH port); socket_server_instances for the socket hosts.
HOSTS = {
    "edge": (("edge", "redis"), 10, 2381),
    "node-a": (("socket", "livekit"), 11, 2382),
    "node-b": (("socket", "livekit"), 12, 2383),
}
OUTSIDER = ("outsider", 20, 2384)
SOCKET_INSTANCES = 2
# Addresses of the test's own clients, on the bridge (the Docker host's side of the network).
CLIENT_SOURCES = [str(SUBNET[200 + i]) for i in range(8)]


def address(octet: int) -> str:
    return str(SUBNET[octet])


class Cluster:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.label = "cluster"
        self.socket_domain = "socket.cluster.pytest.test"
        self.livekit_domain = "livekit.cluster.pytest.test"
        self.credentials = workdir / "credentials"
        self.acme = pebble.ensure_running()
        self.server = vercel_emulator.serve(0, [TOKEN])
        self.vercel = EmulatorClient(f"http://127.0.0.1:{self.server.server_address[1]}", TOKEN)
        self.project = self.vercel.add_project(PROJECT)
        self.bridge = _network(NETWORK, SUBNET)
        for source in CLIENT_SOURCES:
            subprocess.run(["ip", "addr", "replace", f"{source}/{SUBNET.prefixlen}", "dev", self.bridge],
                           check=True)
        self.hosts = {name: self._start(name, octet, port) for name, (_groups, octet, port) in HOSTS.items()}
        self.outsider = self._start(*OUTSIDER)
        self.edge_ip = address(HOSTS["edge"][1])
        for domain in (self.socket_domain, self.livekit_domain):
            self.acme.add_a(domain, self.edge_ip)
        self.inventory = self._write_inventory(workdir / "hosts.json")
        self.extra = workdir / "stack.json"
        self.extra.write_text(json.dumps({
            "flowspace_socket_domain": self.socket_domain, "flowspace_livekit_domain": self.livekit_domain,
            "flowspace_turn_domain": "",
            "livekit_credentials_dir": str(self.credentials / "livekit"),
            "socket_server_credentials_dir": str(self.credentials / "socket"),
            "flowspace_redis_credentials_dir": str(self.credentials / "redis"),
            "vercel_api_url": self.vercel.base_url, "vercel_token": TOKEN, "vercel_project": PROJECT,
            "vercel_deploy_poll_interval": 0.1,
        }))
        self.ca_file = str(self.acme.issuing_chain_bundle())

    def _start(self, name: str, octet: int, port: int) -> hosts.Host:
        return hosts.start(f"flowspace-pytest-{name}", "debian12", port,
                           extra_args=["--network", NETWORK, "--ip", address(octet)])

    def _write_inventory(self, path: Path) -> Path:
        members: dict[str, dict] = {"edge": {}, "redis": {}, "socket": {}, "livekit": {}}
        host_vars = {}
        for name, (groups, _octet, port) in HOSTS.items():
            container = self.hosts[name].name
            host_vars[container] = ssh_host_vars(port)
            if "socket" in groups:
                host_vars[container]["socket_server_instances"] = SOCKET_INSTANCES
            for group in groups:
                members[group][container] = None
        path.write_text(json.dumps({"all": {"children": {"oci": {
            "hosts": host_vars,
            "children": {group: {"hosts": found} for group, found in members.items()},
        }}}}))
        group_vars = path.parent / "group_vars"
        if not group_vars.exists():
            from ansible_run import LAB_GROUP_VARS  # noqa: PLC0415
            group_vars.symlink_to(LAB_GROUP_VARS, target_is_directory=True)
        return path

    def converge(self, *args: str) -> PlaybookRun:
        return run_playbook(self.inventory, "site.yml", "-e", f"@{self.extra}", *args, timeout=1500)

    def drift_report(self) -> subprocess.CompletedProcess:
        return run_drift_report(self.inventory, "site.yml", "-e", f"@{self.extra}")

    def host(self, name: str) -> hosts.Host:
        return self.hosts[name]

    def socket_secret(self) -> str:
        return (self.credentials / "socket" / "auth_secret").read_text().strip()

    def stack(self) -> stack_check.Stack:
        return stack_check.Stack(
            address=self.edge_ip, socket_domain=self.socket_domain, livekit_domain=self.livekit_domain,
            app_origin=APP_ORIGIN, ca_file=self.ca_file,
            livekit_key=(self.credentials / "livekit" / "api_key").read_text().strip(),
            livekit_secret=(self.credentials / "livekit" / "api_secret").read_text().strip(),
            socket_secret=self.socket_secret(), vercel=self.vercel, vercel_project=PROJECT,
        )

    def wait_for_certificates(self) -> None:
        for domain in (self.socket_domain, self.livekit_domain):
            edge_client.wait_for_certificate(self.edge_ip, domain, self.ca_file)

    def player(self, name: str, space: str, source: str) -> Player:
        """A player connected through the edge from `source` (one of CLIENT_SOURCES)."""
        token = socket_tokens.sign(self.socket_secret(), f"user-{name.lower()}", name, [space])
        return Player(f"https://{self.socket_domain}", self.edge_ip, self.ca_file, APP_ORIGIN, token,
                      source=source)

    def process_connections(self) -> dict[str, int]:
        """Connected players per socket process ("node-a:1" ...), from each process's /metrics."""
        found = {}
        for name, (groups, _octet, _port) in HOSTS.items():
            if "socket" not in groups:
                continue
            for index in range(SOCKET_INSTANCES):
                found[f"{name}:{index + 1}"] = int(float(_metric(
                    self.hosts[name], 9464 + index, "flowspace_connections")))
        return found

    def redis(self, *command: str) -> list[str]:
        """Ask the edge's Redis as LiveKit's user; the answer's lines as redis-cli shows them
        (strings unquoted, binary values escaped)."""
        password = (self.credentials / "redis" / "livekit").read_text().strip()
        answer = self.hosts["edge"].exec("redis-cli", "--no-raw", "--no-auth-warning", "--user",
                                         "livekit", "--pass", password, *command)
        return [re.sub(r'^\s*(?:\d+\) )?(?:\(integer\) )?"?(.*?)"?$', r"\1", line)
                for line in answer.stdout.splitlines()]

    def socket_processes_on_redis(self) -> int:
        """How many socket processes listen on the adapter's channel (how the adapter counts
        the processes whose answers a join waits for)."""
        return int(self.redis("PUBSUB", "NUMSUB", "socket.io#/#")[-1])

    def room_nodes(self) -> dict[str, str]:
        """Which node hosts each LiveKit room, from LiveKit's own records in Redis (the room ->
        node ID map, and each node's registration, which holds its address)."""
        redis = self.redis
        pairs = [line for line in redis("HGETALL", "room_node_map") if line != "(empty array)"]
        rooms = dict(zip(pairs[::2], pairs[1::2], strict=True))
        names = {}
        for node_id in set(rooms.values()):
            registration = "\n".join(redis("HGET", "nodes", node_id))
            names[node_id] = next((name for name, (_groups, octet, _port) in HOSTS.items()
                                   if address(octet) in registration), f"unknown node {node_id}")
        return {room: names[node_id] for room, node_id in rooms.items()}

    def stop(self, name: str) -> None:
        """Shut a host down as an operator would (its services stop in order, then the host)."""
        subprocess.run(["docker", "stop", "-t", "30", self.hosts[name].name], check=True,
                       capture_output=True)

    def remove(self) -> None:
        for host in [*self.hosts.values(), self.outsider]:
            hosts.remove(host.name)
        for source in CLIENT_SOURCES:
            subprocess.run(["ip", "addr", "del", f"{source}/{SUBNET.prefixlen}", "dev", self.bridge],
                           capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False)
        self.server.shutdown()


def _metric(host: hosts.Host, port: int, name: str) -> str:
    script = (f"import urllib.request; body = urllib.request.urlopen('http://127.0.0.1:{port}/metrics', "
              "timeout=5).read().decode()\n"
              f"print([l.split()[-1] for l in body.splitlines() if l.startswith('{name} ')][0])")
    return host.exec("python3", "-c", script).stdout.strip()


def _network(name: str, subnet: ipaddress.IPv4Network) -> str:
    """Create the Docker network (afresh) and return its bridge interface's name."""
    for container in subprocess.run(
            ["docker", "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", name],
            capture_output=True, text=True, check=False).stdout.split():
        hosts.remove(container)
    subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)
    network_id = subprocess.run(
        ["docker", "network", "create", "--subnet", str(subnet), "--gateway", str(subnet[1]), name],
        capture_output=True, text=True, check=True).stdout.strip()
    return f"br-{network_id[:12]}"
