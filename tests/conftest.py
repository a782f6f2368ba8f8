"""Test session set-up: the checkout's packages (labkit, the test helpers, the collection)
importable."""

import sys
from pathlib import Path

import pytest
from ansible.plugins.loader import init_plugin_loader

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
# The collection is imported through Ansible's own collection loader, as in a play, so that
# tests and the lab's inventory reader (which templates the collection's lookups) share it.
init_plugin_loader([str(REPO_ROOT / "collections")])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# Each flavour's site host: its SSH port, and whether it installs the way production does (the
# roles' default methods: Caddy's and NodeSource's apt repositories, LiveKit's release
# tarball, from the lab's upstream mirror) or from the lab's binaries and Debian's Node.js.
SITE_HOSTS = {"debian12": (2361, False), "debian13": (2362, True)}


@pytest.fixture(scope="session")
def upstream_mirror():
    """The lab's stand-in for the upstream package sources, served where host containers reach it."""
    from labkit.mirror import server, site  # noqa: PLC0415 - importable once sys.path is set above
    from labkit.standins import pebble  # noqa: PLC0415

    mirror, base_url = server.serve(site.built(), pebble.docker_gateway())
    yield base_url
    mirror.shutdown()


@pytest.fixture(scope="session")
def sites(tmp_path_factory, request):
    """Converged stacks by flavour (tests/site_stack.py), made on first use, kept for the session."""
    from site_stack import SiteHost  # noqa: PLC0415

    made = {}

    def get(flavour: str):
        if flavour not in made:
            port, production_methods = SITE_HOSTS[flavour]
            extra = {}
            if flavour == "debian12":
                # Figures every 5 s, and alerts to a webhook tests/test_monitoring.py listens on.
                extra = {"monitoring_scrape_interval": "5s", "monitoring_collect_interval": "5s",
                         "monitoring_alert_webhook_urls": ["http://127.0.0.1:9199/alerts"]}
            if production_methods:
                # Stock Caddy packages lack the layer-4 module TURN over TLS needs: no TURN domain.
                extra = {**production_install_vars(request.getfixturevalue("upstream_mirror")),
                         "flowspace_turn_domain": ""}
            stack = SiteHost(flavour, port, tmp_path_factory.mktemp(f"site-{flavour}"), extra_vars=extra)
            made[flavour] = stack
            stack.first = stack.converge()
        return made[flavour]

    yield get
    for stack in made.values():
        stack.remove()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The stack scaled out over three hosts (tests/cluster_stack.py), converged once."""
    from cluster_stack import Cluster  # noqa: PLC0415

    made = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        made.first = made.converge()
        yield made
    finally:
        made.remove()


def production_install_vars(base_url: str) -> dict:
    """The roles' default install methods, with only the sources' base URLs pointed at the mirror."""
    from labkit.mirror import site  # noqa: PLC0415

    return {
        "caddy_install_method": "apt_repo",
        "livekit_install_method": "release",
        "socket_server_nodejs_source": "nodesource",
        **site.role_vars(base_url),
    }
