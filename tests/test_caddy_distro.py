"""caddy with install method `distro`: the distribution's package (Caddy 2.6 on Debian 12)
under the role's drop-in, with the Caddyfile features that version lacks left out, still
serving HTTPS with certificates from the lab's Pebble, idempotent."""

import pytest

from ansible_run import run_playbook, ssh_host_vars, write_inventory
from labkit.clients import edge_client
from labkit.lab import hosts
from labkit.standins import pebble

pytestmark = pytest.mark.integration

HOST_NAME = "flowspace-pytest-caddy-distro"
SSH_PORT = 2322
DOMAINS = {"flowspace_socket_domain": "socket.distro.pytest.test",
           "flowspace_livekit_domain": "livekit.distro.pytest.test"}


def test_the_distro_package_serves_https_without_newer_features(tmp_path) -> None:
    acme = pebble.ensure_running()
    host = hosts.start(HOST_NAME, "debian12", SSH_PORT)
    try:
        inventory = write_inventory(tmp_path / "hosts.json", {host.name: {
            **ssh_host_vars(SSH_PORT), **DOMAINS, "caddy_install_method": "distro"}})
        prepared = run_playbook(inventory, "tests/playbooks/prepare_edge.yml")
        assert prepared.returncode == 0, prepared.output[-3000:]
        first = run_playbook(inventory, "tests/playbooks/edge.yml", "-e", "@tests/vars/firewall_only.yml")
        assert first.returncode == 0, first.output[-3000:]

        assert host.exec("dpkg-query", "-W", "-f", "${Version}", "caddy").stdout.startswith("2.6")
        caddyfile = host.exec("cat", "/etc/caddy/Caddyfile").stdout
        assert "reverse_proxy 127.0.0.1:3001" in caddyfile and "stream_close_delay" not in caddyfile
        unit = host.exec("systemctl", "show", "-P", "FragmentPath", "caddy").stdout.strip()
        assert unit == "/lib/systemd/system/caddy.service", "the package's own unit"
        assert host.exec("systemctl", "show", "-P", "LimitNOFILE", "caddy").stdout.strip() == "1048576"

        ca_file = str(acme.issuing_chain_bundle())
        edge_client.wait_for_certificate(host.ip_address(), DOMAINS["flowspace_socket_domain"], ca_file)
        summary = edge_client.summary(host.ip_address(), DOMAINS["flowspace_socket_domain"], ca_file)
        assert summary["certificate"]["issuer"]["commonName"].startswith("Pebble Intermediate CA")
        assert (summary["https_status"], summary["websocket_echo"]) == (200, "ping from edge_client")

        again = run_playbook(inventory, "tests/playbooks/edge.yml", "-e", "@tests/vars/firewall_only.yml")
        assert again.returncode == 0 and again.changed(host.name) == []
    finally:
        hosts.remove(host.name)
