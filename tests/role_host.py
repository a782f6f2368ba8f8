"""A host with one service role behind the edge, as test_livekit.py and test_socket_server.py
use it: the edge prepared with a stand-in for the other service (tests/playbooks/
prepare_edge.yml), then the role's playbook with the firewall alone of the base layer, and the
site's certificate from Pebble."""

from dataclasses import dataclass
from pathlib import Path

from ansible_run import PlaybookRun, run_playbook, ssh_host_vars, write_inventory
from labkit.clients import edge_client
from labkit.lab import hosts
from labkit.standins import pebble

FIREWALL_ONLY = "@tests/vars/firewall_only.yml"


@dataclass
class RoleHost:
    host: hosts.Host
    inventory: Path
    ca_file: str
    credentials: Path  # the role's credentials folder on the controller
    first: PlaybookRun


def converge_behind_the_edge(  # noqa: PLR0913
    workdir: Path, name: str, ssh_port: int, host_vars: dict, credentials_variable: str,
    stand_in_ports: list[int], playbook: str, domain: str,
) -> RoleHost:
    """`stand_in_ports`: where the edge's stand-in answers (the other service's port)."""
    acme = pebble.ensure_running()
    host = hosts.start(name, "debian12", ssh_port)
    credentials = workdir / "credentials"
    host_vars = {**ssh_host_vars(ssh_port), **host_vars, credentials_variable: str(credentials)}
    inventory = write_inventory(workdir / "hosts.json", {host.name: host_vars})
    prepared = run_playbook(inventory, "tests/playbooks/prepare_edge.yml",
                            "-e", f'{{"prepare_upstream_ports": {stand_in_ports}}}')
    assert prepared.returncode == 0, prepared.output[-3000:]
    first = run_playbook(inventory, playbook, "-e", FIREWALL_ONLY)
    assert first.returncode == 0, first.output[-3000:]
    made = RoleHost(host, inventory, str(acme.issuing_chain_bundle()), credentials, first)
    edge_client.wait_for_certificate(host.ip_address(), domain, made.ca_file)
    return made
