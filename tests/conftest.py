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


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--site-flavour", action="append", choices=sorted(SITE_HOSTS), default=[],
        help="keep only the tests of this site host (repeatable): the test command runs each "
             "site host's tests in a process of its own")


def site_flavour(item) -> str:
    """The site host a test uses: its `site_flavour` mark, else its `flavour` parameter, else
    Debian 12 (the tests that use no site host count as Debian 12's)."""
    marker = item.get_closest_marker("site_flavour")
    if marker:
        return marker.args[0]
    callspec = getattr(item, "callspec", None)
    flavour = callspec.params.get("flavour") if callspec else None
    return flavour if flavour in SITE_HOSTS else "debian12"


def pytest_collection_modifyitems(config, items) -> None:
    wanted = config.getoption("site_flavour")
    if not wanted:
        return
    kept, others = [], []
    for item in items:
        (kept if site_flavour(item) in wanted else others).append(item)
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = kept


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

    wanted = request.config.getoption("site_flavour")

    def get(flavour: str):
        # Two processes making one site host would fight over its container: a test that uses
        # a host its process was not given must say so with its mark.
        # (A session fixture's request names no test: pytest's report names the one that failed.)
        assert not wanted or flavour in wanted, (
            f"this test uses the {flavour} site host in a run limited to {wanted}: "
            f"mark it @pytest.mark.site_flavour({flavour!r})")
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
