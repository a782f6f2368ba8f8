"""The lab: the hosts of inventories/lab as OCI-like containers on this machine.

The lab inventory is the one place that says which hosts exist: each host's `lab_flavour`
picks the image and its `ansible_port` is the loopback port its SSH is published on.
"""

from pathlib import Path

import yaml

from labkit import hosts, paths

LAB_INVENTORY = paths.REPO_ROOT / "inventories" / "lab" / "hosts.yml"


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
    """Start the lab hosts; a host already running from the current image is kept."""
    started = []
    for name, variables in inventory_hosts().items():
        started.append(
            hosts.start(name, variables["lab_flavour"], int(variables["ansible_port"]), reuse=True)
        )
    return started


def down() -> list[str]:
    names = hosts.lab_containers()
    for name in names:
        hosts.remove(name)
    return names
