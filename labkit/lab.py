"""The lab: the hosts of inventories/lab as OCI-like containers on this machine.

The lab inventory is the one place that says which hosts exist: each host's `lab_flavour`
picks the image and its `ansible_port` is the loopback port its SSH is published on.
"""

from pathlib import Path

import yaml

from labkit import hosts, paths, pebble, vercel_emulator

LAB_INVENTORY = paths.REPO_ROOT / "inventories" / "lab" / "hosts.yml"
LAB_STACK = paths.REPO_ROOT / "inventories" / "lab" / "group_vars" / "all" / "stack.yml"
SITE_NAME_VARIABLES = ("flowspace_socket_domain", "flowspace_livekit_domain")


def inventory_hosts(inventory: Path = LAB_INVENTORY) -> dict[str, dict]:
    """Every host of a static YAML inventory with the variables set on it or its groups."""
    found: dict[str, dict] = {}

    def walk(group: dict, inherited: dict) -> None:
        variables = {**inherited, **(group.get("vars") or {})}
        for name, host_vars in (group.get("hosts") or {}).items():
            found[name] = {**found.get(name, {}), **variables, **(host_vars or {})}
        for child in (group.get("children") or {}).values():
            walk(child or {}, variables)

    walk(yaml.safe_load(inventory.read_text())["all"], {})
    return found


def up() -> list[hosts.Host]:
    """Start the lab hosts (a host already running from the current image is kept), the
    lab's ACME server, whose DNS then answers the stack's names with the lab host's address,
    and the Vercel API emulator holding the lab's project."""
    started = []
    for name, variables in inventory_hosts().items():
        started.append(
            hosts.start(name, variables["lab_flavour"], int(variables["ansible_port"]), reuse=True)
        )
    acme = pebble.ensure_running()
    stack = yaml.safe_load(LAB_STACK.read_text())
    for host in started[:1]:  # one edge host: the names point at the first lab host
        for variable in SITE_NAME_VARIABLES:
            acme.add_a(stack[variable], host.ip_address())
    vercel_emulator.ensure_running()
    return started


def down() -> list[str]:
    """Remove the lab's containers and stop its ACME server and Vercel emulator."""
    names = hosts.lab_containers()
    for name in names:
        hosts.remove(name)
    return names + pebble.stop() + vercel_emulator.stop()
