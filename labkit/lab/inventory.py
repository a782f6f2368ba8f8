"""The lab inventory as Ansible reads it (inventory API, group_vars, templating), so the lab
and the plays never disagree about a host, a domain or where a role keeps its keys.

The roles' own defaults sit under the inventory's values, as in a play: a setting the
inventory leaves alone (livekit_credentials_dir, ...) is the role's.
"""

from functools import cached_property
from pathlib import Path

import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.vars.manager import VariableManager

from labkit.lab import paths

LAB_INVENTORY = paths.REPO_ROOT / "inventories" / "lab" / "hosts.yml"
# Roles whose settings the lab reads (where they keep generated keys).
ROLES_READ = ("livekit", "socket_server")


class Inventory:
    def __init__(self, source: Path = LAB_INVENTORY):
        init_plugin_loader([str(paths.REPO_ROOT / "collections")])
        self._loader = DataLoader()
        self._inventory = InventoryManager(loader=self._loader, sources=[str(source)])
        self._variables = VariableManager(loader=self._loader, inventory=self._inventory)

    @cached_property
    def _role_defaults(self) -> dict:
        merged: dict = {}
        for role in ROLES_READ:
            defaults = paths.REPO_ROOT / "roles" / role / "defaults" / "main.yml"
            merged.update(yaml.safe_load(defaults.read_text()))
        return merged

    def hosts(self, pattern: str = "all") -> list[str]:
        return [host.name for host in self._inventory.get_hosts(pattern)]

    def value(self, host: str, name: str):
        """One variable of HOST, templated as a play would see it."""
        inventory_vars = self._variables.get_vars(host=self._inventory.get_host(host))
        variables = {**self._role_defaults, **inventory_vars}
        return Templar(loader=self._loader, variables=variables).template(variables[name])
