"""Every filter plugin publishes each of its filters under the function's own name, and Ansible
finds each one by its FQCN (a play calls them as flowspace.infra.NAME)."""

import importlib
from pathlib import Path

import pytest
from ansible.plugins.loader import filter_loader

FILTER_FILES = sorted(p.stem for p in (Path(__file__).parents[2] / "plugins" / "filter").glob("*.py"))


@pytest.mark.parametrize("plugin", FILTER_FILES)
def test_each_filter_is_published_under_its_own_name(plugin) -> None:
    module = importlib.import_module(f"ansible_collections.flowspace.infra.plugins.filter.{plugin}")
    published = module.FilterModule().filters()
    assert published, f"{plugin} publishes no filter"
    for name, function in published.items():
        assert function.__name__ == name
        assert filter_loader.get(f"flowspace.infra.{name}") is not None, name


def test_the_collection_has_the_filters_the_roles_call() -> None:
    assert {"caddy_site_errors", "port_declaration_errors", "upstreams", "listen_address", "private_address",
            "client_sources", "internal_ports", "private_ports", "oci_ingress_rules", "to_dotenv",
            "fail2ban_seconds", "iptables_drift", "ssh_query_sections", "vercel_config_with_csp"} <= {
        name for plugin in FILTER_FILES for name in importlib.import_module(
            f"ansible_collections.flowspace.infra.plugins.filter.{plugin}").FilterModule().filters()}
