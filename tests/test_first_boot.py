"""From an empty Oracle Cloud compartment to a stack browsers use, as a user runs it:
`./flowspace deploy` (tools/deploy.py) against the OCI API emulator, the Vercel API emulator
(environment and DNS; its records are what the ACME stand-in's DNS answers) and Pebble.
playbooks/provision.yml makes the network and an A1 instance that boots (an OCI-Ubuntu-like
host with only cloud-init and Oracle's firewall) with the user_data playbooks/cloud_init.yml
renders, writes its address into the inventory and waits for SSH and cloud-init; the DNS step
points the stack's names at it on Vercel; site.yml converges it over SSH as the admin user; the
check then meets the stack from outside. A second deploy changes nothing and writes to no API."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import oci_stand_in
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from ansible_run import run_playbook, write_inventory
from labkit.clients.vercel_client import EmulatorClient
from labkit.lab import hosts, paths
from labkit.lab.oci_boot import LabBoot
from labkit.standins import pebble, vercel_emulator
from support import REPO_ROOT, VENV_BIN

pytestmark = pytest.mark.integration

HOST_NAME = "flowspace-pytest-firstboot"
ZONE = "firstboot.pytest.test"
TOKEN = "firstboot-token"  # noqa: S105 - the emulator's
PROJECT = "firstboot-app"
STACK = {
    "flowspace_socket_domain": f"socket.{ZONE}",
    "flowspace_livekit_domain": f"livekit.{ZONE}",
    "flowspace_turn_domain": f"turn.{ZONE}",
    "flowspace_app_origin": f"https://{ZONE}",
    "flowspace_dns_provider": "vercel",
    "flowspace_dns_domain": ZONE,
    "vercel_token": TOKEN,
    "vercel_project": PROJECT,
}
NAMES = tuple(STACK[f"flowspace_{name}_domain"] for name in ("socket", "livekit", "turn"))
# The lab's admin login, without an address (provision writes it), and the API key's settings,
# as an operator's laptop has them (the CI runner gets the same from its secrets instead).
ADMIN = {
    "ansible_ssh_private_key_file": str(paths.lab_key()),
    "ansible_ssh_common_args": (
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    ),
    "ansible_host_key_checking": False,
}
STEP = re.compile(r"^(ok  |FAIL) (provision|dns|site|check) \(([0-9.]+) s(?:, (\d+) changed)?", re.M)


class Deployed:
    def __init__(self, work, stand_in, lab_boot, inventory, acme, vercel):
        self.work, self.oci, self.lab_boot, self.inventory = work, stand_in, lab_boot, inventory
        self.acme, self.vercel = acme, vercel
        self.first = None
        self.first_oci_writes = []  # what the first deploy asked Oracle to make
        self.orders_before = 0

    def extra_vars(self, laptop: bool = True) -> str:
        """The stack's settings; on a laptop, also the admin's SSH login and the OCI API key."""
        extra = self.work / ("extra.json" if laptop else "extra-runner.json")
        api_key = {k: v for k, v in self.oci.settings().items()
                   if k in ("oci_tenancy", "oci_user", "oci_fingerprint", "oci_key_file")}
        # The runner's Vercel token is in the vault (deploy_as_the_runner), not in the clear.
        stack = STACK if laptop else {k: v for k, v in STACK.items() if k != "vercel_token"}
        extra.write_text(json.dumps({**stack, "vercel_api_url": self.vercel.base_url,
                                     "cloud_init_dir": str(self.work / "out"),
                                     **({**ADMIN, **api_key} if laptop else {})}))
        return f"@{extra}"

    def deploy(self) -> subprocess.CompletedProcess:
        """./flowspace deploy's chain from a laptop (its set-up is the suite's), with Ansible's
        plain linear strategy (ansible.cfg's is Mitogen's): the plays do not depend on it."""
        ca_file = str(self.acme.issuing_chain_bundle())
        return self._timed([sys.executable, "tools/deploy.py", "-i", str(self.inventory),
                            "--ca-file", ca_file, "--", "-e", self.extra_vars()],
                           {**os.environ, "ANSIBLE_STRATEGY": "linear",
                            "PATH": f"{VENV_BIN}:{os.environ['PATH']}"})

    def deploy_as_the_runner(self, secrets: dict, scratch, *ansible_args: str,
                             verbose: bool = False) -> subprocess.CompletedProcess:
        """The deploy workflow's command, as a CI runner runs it: a clean environment holding
        only the secrets (the vault password, the SSH key, the hosts' keys, the OCI config and
        API key), the repository's vault file beside the inventory."""
        env = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "TMPDIR": str(scratch), **secrets}
        ca_file = str(self.acme.issuing_chain_bundle())
        vault = f"@{self.work / 'vault.yml'}"
        shown = ["--verbose"] if verbose else []
        return self._timed(["./flowspace", "deploy", "-i", str(self.inventory), "--ca-file", ca_file, *shown,
                            "--", "-e", self.extra_vars(laptop=False), "-e", vault, *ansible_args], env)

    def _timed(self, command: list[str], env: dict) -> subprocess.CompletedProcess:
        self.oci.clear_requests()
        self.vercel.clear_requests()
        started = time.monotonic()
        run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1500,
                             check=False, env=env)
        run.seconds = round(time.monotonic() - started, 1)
        return run

    def provision(self, *args: str):
        self.oci.clear_requests()
        return run_playbook(self.inventory, "playbooks/provision.yml", "-e", self.extra_vars(), *args,
                            timeout=900)

    @property
    def host(self) -> hosts.Host:
        return hosts.Host(LabBoot.container({"displayName": HOST_NAME}), "debian12", 0)


def steps(output: str) -> dict:
    """{step: (passed, seconds, changed)} from deploy's step lines."""
    return {m[2]: (m[1] == "ok  ", float(m[3]), int(m[4]) if m[4] else None) for m in STEP.finditer(output)}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    work = tmp_path_factory.mktemp("firstboot")
    acme = pebble.ensure_running()
    server = vercel_emulator.serve(0, [TOKEN], nameservers=acme.serve_zone)
    vercel = EmulatorClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    vercel.add_domain(ZONE)
    vercel.add_project(PROJECT)
    lab_boot = LabBoot(work / "seeds")
    stand_in = oci_stand_in.start(work, boot=lab_boot.boot, halt=lab_boot.halt)
    admin_key = paths.lab_key().with_suffix(".pub").read_text().strip()
    inventory = write_inventory(
        work / "hosts.json",
        # As a repository holds it: the admin's user and public key, where to build; no key file.
        {HOST_NAME: {"ansible_user": "ubuntu", "oci_launch_retry_delay": 1, "oci_ssh_timeout": 300,
                     "flowspace_admin_ssh_public_keys": [admin_key],
                     **{k: v for k, v in stand_in.settings().items()
                        if k in ("oci_compartment_id", "oci_region", "oci_service_endpoint")}}},
        lab_login=False,
    )
    site = Deployed(work, stand_in, lab_boot, inventory, acme, vercel)
    site.orders_before = acme.orders_for(*NAMES)  # Pebble's log is the machine's, not this test's
    site.first = site.deploy()
    site.first_oci_writes = site.oci.writes()
    print(f"\nfirst deploy, {site.first.seconds} s:\n{site.first.stdout}")
    yield site
    lab_boot.remove_all()
    stand_in.server.shutdown()
    server.shutdown()


def test_deploy_runs_the_whole_chain_from_an_empty_account(deployed) -> None:
    run = deployed.first
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    found = steps(run.stdout)
    assert list(found) == ["provision", "dns", "site", "check"], run.stdout
    assert all(passed for passed, _, _ in found.values()), run.stdout
    for check in ("certificates", "socket join", "livekit audio", "turn relay"):
        assert re.search(rf"^  ok   {check} \(", run.stdout, re.M), run.stdout
    assert f"TURN over TLS on {STACK['flowspace_turn_domain']}:443 relayed data" in run.stdout, run.stdout
    assert re.search(r"relay-only listener heard the speaker through a (UDP|TCP|TLS) relay", run.stdout), \
        run.stdout
    records = sorted((r["name"], r["type"], r["value"]) for r in deployed.vercel.records(ZONE))
    address = deployed.host.ip_address()
    assert records == [("livekit", "A", address), ("socket", "A", address), ("turn", "A", address)]
    assert deployed.acme.orders_for(*NAMES) - deployed.orders_before == 3, "one order per name"
    assert run.seconds <= 300, f"the chain took {run.seconds} s (goal: 5 minutes)"


def runner_secrets(deployed, vault_password: str) -> dict:
    """The deploy workflow's secrets: the vault holds the Vercel token and the OCI key's pass
    phrase (the key itself, encrypted with it, is a secret of its own, as is its config)."""
    host, api = deployed.host, deployed.oci.settings()
    pass_phrase = "an-oci-key-pass-phrase-" + os.urandom(6).hex()
    key = serialization.load_pem_private_key(Path(api["oci_key_file"]).read_bytes(), None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(pass_phrase.encode())).decode()
    vault_file = deployed.work / "vault.yml"
    vault_file.write_text(yaml.safe_dump({"vercel_token": TOKEN, "oci_key_pass_phrase": pass_phrase}))
    password_file = deployed.work / "vault-password"
    password_file.write_text(vault_password)
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file),
                    str(vault_file)], check=True, capture_output=True)
    password_file.unlink()
    return {
        "FLOWSPACE_VAULT_PASSWORD": vault_password,
        "FLOWSPACE_SSH_PRIVATE_KEY": paths.lab_key().read_text(),
        "FLOWSPACE_SSH_KNOWN_HOSTS": f"{host.ip_address()} "
                                     + host.exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.strip(),
        "FLOWSPACE_OCI_CONFIG": (f"[DEFAULT]\nuser={api['oci_user']}\nfingerprint={api['oci_fingerprint']}\n"
                                 f"tenancy={api['oci_tenancy']}\nregion={api['oci_region']}\n"
                                 "key_file=~/.oci/oci_api_key.pem\n"),
        "FLOWSPACE_OCI_API_KEY": encrypted,
        "pass phrase": pass_phrase,  # not for the environment: what the output must not hold
    }


def test_a_second_deploy_from_a_ci_runner_changes_nothing_and_writes_to_no_api(deployed, tmp_path) -> None:
    """The deploy workflow's step (./flowspace deploy with the runner's secrets as environment
    variables, strict host-key checking), at -vvv with Ansible's output shown: every step 0
    changed, no write to Oracle or Vercel, no new certificate order; no secret in its output,
    nothing of them left behind."""
    secrets = runner_secrets(deployed, "a-runner-vault-password-" + os.urandom(6).hex())
    given = {name: value for name, value in secrets.items() if name.startswith("FLOWSPACE_")}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    orders = deployed.acme.orders_for(STACK["flowspace_socket_domain"])
    again = deployed.deploy_as_the_runner(given, scratch, "-vvv", verbose=True)
    output = again.stdout + again.stderr
    assert again.returncode == 0, output[-6000:]
    found = steps(again.stdout)
    assert {step: changed for step, (_, _, changed) in found.items()} == {
        "provision": 0, "dns": 0, "site": 0, "check": None}, output[-6000:]
    assert deployed.oci.writes() == []
    assert [r for r in deployed.vercel.requests() if r["method"] != "GET"] == []
    assert deployed.acme.orders_for(STACK["flowspace_socket_domain"]) == orders
    host = deployed.host
    kept = {"LiveKit API secret": host.exec("cat", "/etc/livekit/keys.yaml").stdout.split(":")[1].strip(),
            "socket auth secret": [line.split("=", 1)[1] for line in host.exec(
                "cat", "/opt/flowspace-socket/shared/flowspace-socket.env").stdout.splitlines()
                if line.startswith("AUTH_SECRET=")][0]}
    searched = {**kept, "vault password": secrets["FLOWSPACE_VAULT_PASSWORD"], "Vercel token": TOKEN,
                "OCI key pass phrase": secrets["pass phrase"],
                "SSH private key": secrets["FLOWSPACE_SSH_PRIVATE_KEY"].splitlines()[1],
                "OCI API key": secrets["FLOWSPACE_OCI_API_KEY"].splitlines()[1]}
    assert len(output) > 100_000, "Ansible's -vvv output was shown"
    assert [name for name, value in searched.items() if value in output] == []
    assert list(scratch.iterdir()) == [], "the runner's secrets are removed when the command ends"


def test_a_wrong_vault_password_stops_the_deploy_before_any_write(deployed, tmp_path) -> None:
    secrets = runner_secrets(deployed, "the-right-vault-password")
    given = {name: value for name, value in secrets.items() if name.startswith("FLOWSPACE_")}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    wrong = {**given, "FLOWSPACE_VAULT_PASSWORD": "not-the-password"}
    refused = deployed.deploy_as_the_runner(wrong, scratch)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    lines = refused.stdout.splitlines()
    assert lines[0].startswith("FAIL provision ("), refused.stdout
    assert "to fix: the vault password does not open the vault" in refused.stdout, refused.stdout
    assert deployed.oci.requests() == [] and deployed.vercel.requests() == []


def test_provision_made_the_instance_and_wrote_its_address(deployed) -> None:
    writes = [(w["method"], w["path"].split("/")[2]) for w in deployed.first_oci_writes]
    assert writes == [
        ("POST", kind)
        for kind in ("vcns", "internetGateways", "routeTables", "securityLists", "subnets", "instances",
                     "publicIps")
    ]
    written = yaml.safe_load((deployed.work / "host_vars" / HOST_NAME / "oci_address.yml").read_text())
    assert written == {"ansible_host": deployed.host.ip_address()}
    [instance] = [i for i in deployed.oci.state()["instances"] if i["lifecycleState"] == "RUNNING"]
    assert instance["displayName"] == HOST_NAME and instance["shape"] == "VM.Standard.A1.Flex"


def test_cloud_init_applied_the_rendered_user_data(deployed) -> None:
    host = deployed.host
    status = host.exec("cloud-init", "status", "--long").stdout
    assert "status: done" in status and "DataSourceNoCloud" in status
    schema = host.exec("cloud-init", "schema", "--config-file", "/var/lib/cloud/seed/nocloud/user-data")
    assert "Valid cloud-config" in schema.stdout
    assert host.exec("sudo", "-u", "ubuntu", "sudo", "-n", "true", check=False).returncode == 0
    assert host.exec("passwd", "-S", "ubuntu").stdout.split()[1] == "L", "password login stays locked"
    assert host.exec("python3", "-c", "import apt").returncode == 0
    rules = host.exec("iptables", "-S").stdout.splitlines()
    assert "-N InstanceServices" in rules, "Oracle's firewall left intact"
    last_input = [rule for rule in rules if rule.startswith("-A INPUT")][-1]
    assert last_input == "-A INPUT -j REJECT --reject-with icmp-host-prohibited"


def test_site_converged_over_ssh_as_the_admin_user(deployed) -> None:
    host = deployed.host
    assert host.exec("systemctl", "is-active", "caddy", "livekit").stdout.split() == ["active", "active"]
    assert "passwordauthentication no" in host.exec("sshd", "-T").stdout.splitlines()


def test_keys_that_are_not_ssh_public_keys_are_refused(deployed, tmp_path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({"flowspace_admin_ssh_public_keys": ["my key"], "cloud_init_dir": str(tmp_path)})
    )
    run = run_playbook(deployed.inventory, "playbooks/cloud_init.yml", "-e", f"@{extra}")
    assert run.returncode != 0
    assert "must be an OpenSSH public key line" in " ".join(run.failures[HOST_NAME])
    assert not (tmp_path / f"{HOST_NAME}.yaml").exists()


def test_teardown_removes_the_instance_and_the_network(deployed) -> None:
    run = deployed.provision("-e", "oci_state=absent")
    assert run.returncode == 0, run.output[-3000:]
    state = deployed.oci.state()
    assert all(
        r["lifecycleState"] in ("TERMINATING", "TERMINATED")
        for kind in state.values()
        for r in kind
        if r.get("freeformTags", {}).get("flowspace-stack") == "flowspace"
    )
    assert hosts.lab_containers().count(deployed.host.name) == 0
