"""Make `ansible_collections.flowspace.infra` importable from the checkout, through Ansible's
own collection loader (as ansible-test does), so its plugins load as they do in a play."""

from pathlib import Path

from ansible.plugins.loader import init_plugin_loader

COLLECTIONS_ROOT = Path(__file__).resolve().parents[5]
init_plugin_loader([str(COLLECTIONS_ROOT)])
