"""A fresh OCI-like host with the whole stack on it: site.yml over SSH as production runs it,
certificates from Pebble, the app's variables in a Vercel API emulator of the test's own.
test_site.py (Debian 12 and 13) uses it."""

import json
import subprocess
from pathlib import Path

from ansible_run import PlaybookRun, run_drift_report, run_playbook, ssh_host_vars, write_inventory
from labkit.checks import stack_check
from labkit.clients import edge_client
from labkit.clients.vercel_client import EmulatorClient
from labkit.lab import hosts
from labkit.standins import pebble, vercel_emulator

TOKEN = "site-test-token"
PROJECT = "flowspace-app"
APP_ORIGIN = "https://app.flowspace.test"  # the lab stack's flowspace_app_origin


class SiteHost:
    def __init__(self, flavour: str, ssh_port: int, workdir: Path, label: str = "",
                 extra_vars: dict | None = None):
        label = label or flavour  # names the container and the stack's domains
        self.flavour, self.workdir = flavour, workdir
        self.name = f"flowspace-pytest-site-{label}"
        self.socket_domain = f"socket.{label}.site.pytest.test"
        self.livekit_domain = f"livekit.{label}.site.pytest.test"
        self.turn_domain = f"turn.{label}.site.pytest.test"
        self.credentials = workdir / "credentials"
        self.acme = pebble.ensure_running()
        self.server = vercel_emulator.serve(0, [TOKEN])
        self.vercel = EmulatorClient(f"http://127.0.0.1:{self.server.server_address[1]}", TOKEN)
        self.project = self.vercel.add_project(PROJECT)
        self.host = hosts.start(self.name, flavour, ssh_port)
        self.ip = self.host.ip_address()
        for domain in (self.socket_domain, self.livekit_domain, self.turn_domain):
            self.acme.add_a(domain, self.ip)
        self.inventory = write_inventory(workdir / "hosts.json", {self.name: ssh_host_vars(ssh_port)})
        # The stack and the Vercel settings as extra vars: the Vercel play runs on the
        # controller, which has no host vars of the OCI host.
        self.extra = workdir / "stack.json"
        self.extra.write_text(json.dumps({
            "flowspace_socket_domain": self.socket_domain, "flowspace_livekit_domain": self.livekit_domain,
            "flowspace_turn_domain": self.turn_domain,
            "livekit_credentials_dir": str(self.credentials),
            "socket_server_credentials_dir": str(self.credentials / "socket"),
            "vercel_api_url": self.vercel.base_url, "vercel_token": TOKEN, "vercel_project": PROJECT,
            "vercel_deploy_poll_interval": 0.1, **(extra_vars or {}),
        }))
        self.ca_file = str(self.acme.issuing_chain_bundle())

    def converge(self, *args: str, env: dict | None = None) -> PlaybookRun:
        return run_playbook(self.inventory, "site.yml", "-e", f"@{self.extra}", *args, timeout=1200, env=env)

    def drift_report(self) -> subprocess.CompletedProcess:
        """The operator's drift report (tools/drift_report.py): site.yml --check --diff."""
        return run_drift_report(self.inventory, "site.yml", "-e", f"@{self.extra}")

    def wait_for_certificates(self) -> None:
        for domain in (self.socket_domain, self.livekit_domain):
            edge_client.wait_for_certificate(self.ip, domain, self.ca_file)

    def stack(self) -> stack_check.Stack:
        return stack_check.Stack(
            address=self.ip, socket_domain=self.socket_domain, livekit_domain=self.livekit_domain,
            app_origin=APP_ORIGIN, ca_file=self.ca_file,
            livekit_key=(self.credentials / "api_key").read_text().strip(),
            livekit_secret=(self.credentials / "api_secret").read_text().strip(),
            socket_secret=(self.credentials / "socket" / "auth_secret").read_text().strip(),
            vercel=self.vercel, vercel_project=PROJECT, turn_domain=self.turn_domain,
        )

    def check(self) -> dict:
        """What users find (labkit.stack_check, as ./flowspace lab prints it)."""
        return stack_check.check(self.stack())

    def deployments(self) -> list[dict]:
        return self.vercel.deployments(self.project["id"])

    def stored_env(self) -> dict[str, dict]:
        return {e["key"]: e for e in self.vercel.stored_envs(self.project["id"])}

    def remove(self) -> None:
        hosts.remove(self.name)
        self.server.shutdown()


def assert_users_reach_every_service(site: SiteHost, first: PlaybookRun) -> dict:
    """The stack as users meet it after site.yml on a fresh host: both sites with Pebble
    certificates, Socket.io players, LiveKit audio, the app's variables and one redeploy."""
    assert first.returncode == 0, first.output[-4000:]
    site.wait_for_certificates()
    findings = site.check()
    assert stack_check.passed(findings), stack_check.report(findings)
    for found in findings["sites"]:
        assert found["issuer"].startswith("Pebble Intermediate CA"), found
    assert findings["socket"]["members"] == ["Ada", "Bob"]
    assert findings["livekit"]["frames"] >= 50 and findings["livekit"]["from"] == "speaker"
    stored = site.stored_env()
    stack = site.stack()
    key, secret = stack.livekit_key, stack.livekit_secret
    secrets = ("LIVEKIT_API_SECRET", "SOCKET_AUTH_SECRET")
    assert {k: e.get("value") for k, e in stored.items() if k not in secrets} == {
        "NEXT_PUBLIC_SOCKET_URL": f"https://{site.socket_domain}",
        "NEXT_PUBLIC_LIVEKIT_URL": f"wss://{site.livekit_domain}",
        "LIVEKIT_URL": f"wss://{site.livekit_domain}",
        "LIVEKIT_API_KEY": key,
    }
    assert stored["LIVEKIT_API_SECRET"]["type"] == "sensitive"
    assert stored["SOCKET_AUTH_SECRET"]["type"] == "sensitive"
    deployments = site.deployments()
    assert len(deployments) == 2, "the seeded deployment and exactly one redeploy"
    assert deployments[-1]["env"]["LIVEKIT_API_SECRET"] == secret, "the redeploy carries the deployed secret"
    assert deployments[-1]["env"]["SOCKET_AUTH_SECRET"] == stack.socket_secret, "and the socket server's key"
    assert secret not in first.output and stack.socket_secret not in first.output, "a secret was printed"
    return findings


def assert_a_rerun_changes_nothing(site: SiteHost) -> PlaybookRun:
    """A second site.yml: 0 changed anywhere, no redeploy; then the drift report
    (site.yml --check --diff) finds nothing."""
    again = site.converge()
    assert again.returncode == 0, again.output[-4000:]
    assert again.changed(site.name) == [] and again.changed("localhost") == [], again.changed_tasks
    assert len(site.deployments()) == 2, "no redeploy when nothing changed"
    report = site.drift_report()
    assert (report.returncode, report.stdout.strip()) == (0, "no drift"), report.stdout + report.stderr[-999:]
    return again
