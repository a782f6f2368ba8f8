"""caddy over SSH behind the base firewall, with certificates from the lab's Pebble: what real
clients get, what a re-run leaves alone, reloads that keep WebSockets open, broken and bad
input refused before the live config changes (drift: tests/test_site.py's catalogue)."""

import json
import subprocess

import pytest

from ansible_run import STOPS_EARLY, run_drift_report, run_playbook, ssh_host_vars, write_inventory
from firewall_rules import iptables_opened, security_list_opened
from labkit.clients import edge_client
from labkit.lab import hosts
from labkit.standins import pebble
from support import REPO_ROOT, tail

pytestmark = pytest.mark.integration

PLAYBOOK = "tests/playbooks/edge.yml"
SSH_PORT = 2321
HOST_NAME = "flowspace-pytest-caddy"
DOMAINS = {"flowspace_socket_domain": "socket.caddy.pytest.test",
           "flowspace_livekit_domain": "livekit.caddy.pytest.test"}
SOCKET_DOMAIN = DOMAINS["flowspace_socket_domain"]
FIREWALL_ONLY = "@tests/vars/firewall_only.yml"
CADDYFILE = "/etc/caddy/Caddyfile"


class Edge:
    """The converged host, its inventory, and a client that trusts only Pebble's root."""

    def __init__(self, host: hosts.Host, inventory, acme: pebble.Pebble):
        self.host, self.inventory, self.acme = host, inventory, acme
        self.ip = host.ip_address()
        self.ca_file = str(acme.issuing_chain_bundle())

    def converge(self, *args: str, extra: dict | None = None, tmp_path=None, playbook: str = PLAYBOOK,
                 env: dict | None = None):
        extra_args = []
        if extra is not None:
            extra_file = tmp_path / "extra.json"
            extra_file.write_text(json.dumps(extra))
            extra_args = ["-e", f"@{extra_file}"]
        return run_playbook(self.inventory, playbook, "-e", FIREWALL_ONLY, *extra_args, *args, env=env)

    def drift_report(self) -> subprocess.CompletedProcess:
        """The operator's drift report (tools/drift_report.py) on this host's edge play."""
        return run_drift_report(self.inventory, PLAYBOOK, "-e", f"@{REPO_ROOT / FIREWALL_ONLY[1:]}",
                                timeout=300)

    def get(self, domain: str = SOCKET_DOMAIN, path: str = "/", **kwargs) -> edge_client.Response:
        return edge_client.request(self.ip, domain, path, ca_file=self.ca_file, **kwargs)

    def websocket(self) -> edge_client.WebSocket:
        return edge_client.WebSocket(self.ip, SOCKET_DOMAIN, self.ca_file)

    def file(self, path: str) -> str:
        return self.host.exec("cat", path, check=False).stdout


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    acme = pebble.ensure_running()
    host = hosts.start(HOST_NAME, "debian12", SSH_PORT)
    inventory = write_inventory(tmp_path_factory.mktemp("caddy") / "hosts.json",
                                {host.name: {**ssh_host_vars(SSH_PORT), **DOMAINS}})
    prepared = run_playbook(inventory, "tests/playbooks/prepare_edge.yml")
    assert prepared.returncode == 0, prepared.output[-3000:]
    first = run_playbook(inventory, PLAYBOOK, "-e", FIREWALL_ONLY)
    assert first.returncode == 0, first.output[-3000:]
    yield Edge(host, inventory, acme)
    hosts.remove(host.name)


def wait_for_certificates(edge: Edge) -> None:
    for domain in DOMAINS.values():
        edge_client.wait_for_certificate(edge.ip, domain, edge.ca_file)


def test_sites_serve_with_certificates_from_the_acme_server(edge) -> None:
    wait_for_certificates(edge)
    assert edge.acme.orders_for(*DOMAINS.values()) >= len(DOMAINS), "Pebble validated each name"
    for domain, port in ((DOMAINS["flowspace_socket_domain"], 3001),
                         (DOMAINS["flowspace_livekit_domain"], 7880)):
        summary = edge_client.summary(edge.ip, domain, edge.ca_file)
        assert summary["certificate"]["issuer"]["commonName"].startswith("Pebble Intermediate CA")
        assert summary["certificate"]["names"] == [domain]
        assert (summary["http_status"], summary["http_location"]) == (308, f"https://{domain}/probe")
        assert (summary["https_status"], summary["https_body"]) == (200, f"upstream {port} /\n")
        assert summary["websocket_echo"] == "ping from edge_client"
        headers = summary["headers"]
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "server" not in headers


def test_the_oci_security_list_allows_what_the_live_firewall_opens(edge, tmp_path) -> None:
    security_list = tmp_path / "security-list.json"
    run = run_playbook(edge.inventory, "playbooks/oci_security_list.yml",
                       "-e", f"oci_security_list_file={security_list}")
    assert run.returncode == 0, run.output[-3000:]
    allowed = security_list_opened(json.loads(security_list.read_text()))
    assert allowed == iptables_opened(edge.host.exec("iptables", "-S", "INPUT").stdout)
    assert allowed == iptables_opened(edge.host.exec("ip6tables", "-S", "INPUT").stdout)
    assert ("tcp", 443, 443) in allowed


def test_request_bodies_over_the_limit_are_refused(edge) -> None:
    assert edge.get(method="POST", body=b"x" * 1024).status == 200
    assert edge.get(method="POST", body=b"x" * (11 * 1000 * 1000)).status == 413


def test_rerun_changes_nothing_and_orders_no_certificate(edge) -> None:
    wait_for_certificates(edge)
    serial = edge_client.certificate(edge.ip, SOCKET_DOMAIN, edge.ca_file)["serial"]
    orders = edge.acme.orders_for(*DOMAINS.values())
    again = edge.converge()
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed(edge.host.name) == []
    report = edge.drift_report()
    assert (report.returncode, report.stdout.strip()) == (0, "no drift"), tail(report)
    assert edge.acme.orders_for(*DOMAINS.values()) == orders
    assert edge_client.certificate(edge.ip, SOCKET_DOMAIN, edge.ca_file)["serial"] == serial


def site_defaults(**changes) -> dict:
    """Override only the given site defaults; the others keep their built-in values."""
    return {"caddy_site_defaults": changes}


def test_open_websockets_survive_a_config_reload(edge, tmp_path) -> None:
    pid = edge.host.exec("systemctl", "show", "-P", "MainPID", "caddy").stdout
    before = edge.websocket()
    assert before.echo("before the reload") == "before the reload"
    changed = edge.converge(extra=site_defaults(headers={"X-Reload-Test": "1"}), tmp_path=tmp_path)
    assert changed.returncode == 0, changed.output[-3000:]
    assert any("Caddyfile" in task for task in changed.changed(edge.host.name))
    assert edge.get().headers.get("x-reload-test") == "1"
    assert before.echo("after the reload") == "after the reload"
    assert edge.host.exec("systemctl", "show", "-P", "MainPID", "caddy").stdout == pid, "restarted"
    before.close()

    # The control: without stream_close_delay, the same kind of reload does close them.
    edge.converge(extra=site_defaults(stream_close_delay="0s"), tmp_path=tmp_path)
    doomed = edge.websocket()
    assert doomed.echo("still open") == "still open"
    edge.converge(tmp_path=tmp_path, extra=site_defaults())
    with pytest.raises(OSError):
        doomed.echo("after a reload without a delay")
    doomed.close()


def test_a_site_caddy_rejects_leaves_the_live_config_serving(edge, tmp_path) -> None:
    live = edge.file(CADDYFILE)
    edge.acme.add_a("broken.caddy.pytest.test", edge.ip)  # past the DNS guard, to Caddy's own check
    broken = {"flowspace_edge_extra_sites": [{
        "domain": "broken.caddy.pytest.test", "upstream": "127.0.0.1:3001",
        "options": {"extra_directives": ["bogus_directive on"]},
    }]}
    run = edge.converge(extra=broken, tmp_path=tmp_path)
    assert run.returncode != 0
    messages = " ".join(run.failures.get(edge.host.name, []))
    assert "Caddy rejected the Caddyfile" in messages and "bogus_directive" in messages, messages
    assert edge.file(CADDYFILE) == live
    assert edge.get().status == 200


def test_a_name_not_pointing_at_the_edge_never_reaches_caddy_or_the_ca(edge, tmp_path) -> None:
    name = "elsewhere.caddy.pytest.test"
    edge.acme.add_a(name, "192.0.2.1")
    live = edge.file(CADDYFILE)
    orders = edge.acme.orders_for(name)
    extra = {"flowspace_edge_extra_sites": [{"domain": name, "upstream": "127.0.0.1:3001"}]}
    # The edge play alone: the guard stops it before the role changes anything.
    run = edge.converge(extra=extra, tmp_path=tmp_path, playbook="playbooks/edge.yml", env=STOPS_EARLY)
    assert run.returncode != 0
    messages = " ".join(run.failures.get(edge.host.name, []))
    assert (f"DNS is not ready: not every name resolves to {edge.ip}: {name} resolves to A 192.0.2.1 "
            f"through 127.0.0.1:8053; it must resolve to {edge.ip} (the edge)") in messages, messages
    assert "the sites it already serves keep serving" in messages
    assert edge.file(CADDYFILE) == live and name not in edge.file(CADDYFILE)
    assert edge.acme.orders_for(name) == orders == 0, "the CA was asked for a name DNS does not give the edge"
    assert edge.get().status == 200
    assert run.changed(edge.host.name) == []


# (extra vars, words the error must contain)
BAD_INPUT = {
    "site without domain": ({"flowspace_edge_extra_sites": [{"upstream": "127.0.0.1:3001"}]},
                            "domain is missing"),
    "domain with a scheme": ({"flowspace_edge_extra_sites": [
        {"domain": "https://x.test", "upstream": "127.0.0.1:3001"}]}, "is not a DNS name"),
    "upstream without port": ({"flowspace_edge_extra_sites": [
        {"domain": "x.test", "upstream": "127.0.0.1"}]}, "must be host:port"),
    "duplicate domain": ({"flowspace_edge_extra_sites": [
        {"domain": SOCKET_DOMAIN, "upstream": "127.0.0.1:3002"}]}, "defined twice"),
    "unknown site option": ({"flowspace_edge_extra_sites": [
        {"domain": "x.test", "upstream": "127.0.0.1:1", "options": {"websockets": True}}]},
        "unknown option 'websockets'"),
    "malformed size": (site_defaults(max_body_size="ten megs"), "max_body_size='ten megs'"),
    "public admin API": ({"caddy_admin_listen": "0.0.0.0:2019"}, "caddy_admin_listen=0.0.0.0:2019"),
    "plain-http ACME CA": ({"caddy_acme_ca": "http://acme.test/dir"}, "caddy_acme_ca=http://acme.test/dir"),
    "download without checksum": ({"caddy_install_method": "binary", "caddy_binary_src": "https://example.invalid/caddy"},
                                  "caddy_binary_sha256"),
    "local binary with a wrong checksum": (
        {"caddy_install_method": "binary", "caddy_binary_sha256": "0" * 64}, "expected 000000"),
    "build of a caddy the recipe does not pin": ({"caddy_install_method": "build", "caddy_version": "2.12.0"},
                                                 "must pin caddy v2.12.0 in its go.mod (it pins "
                                                 "github.com/caddyserver/caddy/v2 v2.11.9)"),
    "build sha256 that is not one": ({"caddy_build_sha256": {"amd64": "abc", "arm64": "0" * 64}},
                                     "caddy_build_sha256 must map each architecture to a sha256"),
    # The build is made (into a folder of the test's own) and refused: the sha256 is checked on
    # every install, and the host gets nothing it was not pinned to.
    "build that is not the pinned one": ({"caddy_build_cache_dir": "{TMP}/builds",
                                          "caddy_build_sha256": {"amd64": "0" * 64, "arm64": "0" * 64}},
                                         f"but {'0' * 64} is pinned: refusing it"),
    "misspelt variable": ({"caddy_acme_emial": "ops@flowspace.test"}, "caddy_acme_emial"),
    "wrong type": ({"caddy_limit_nofile": "lots"}, "caddy_limit_nofile"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_before_the_host_changes(edge, tmp_path, case: str) -> None:
    extra, expected = BAD_INPUT[case]
    extra = json.loads(json.dumps(extra).replace("{TMP}", str(tmp_path)))
    live = edge.file(CADDYFILE)
    # The edge play alone: the base play before it has nothing to do on this host.
    run = edge.converge(extra=extra, tmp_path=tmp_path, playbook="playbooks/edge.yml", env=STOPS_EARLY)
    assert run.returncode != 0
    messages = " ".join(run.failures.get(edge.host.name, []))
    assert expected in messages, messages or run.output[-3000:]
    assert run.changed(edge.host.name) == []
    assert edge.file(CADDYFILE) == live
    assert not list(tmp_path.glob("builds/*")), "a build nobody pinned was kept"
