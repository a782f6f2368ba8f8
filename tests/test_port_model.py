"""One port model: for the lab and the production inventories, the OCI security list allows
exactly the ports the host firewall (base_hardening's own rules.v4 template) opens, both the list
playbooks/oci_security_list.yml prints for the console and the one playbooks/provision.yml makes
(its `network` tag, against the OCI API emulator)."""

import json

import oci_stand_in
import pytest

from ansible_run import run_playbook
from firewall_rules import iptables_opened, security_list_opened
from support import REPO_ROOT

CADDY = {("tcp", 80, 80), ("tcp", 443, 443), ("udp", 443, 443)}
LIVEKIT = {("tcp", 7881, 7881), ("udp", 50000, 60000), ("udp", 3478, 3478)}


@pytest.mark.parametrize("inventory", ["inventories/lab/hosts.yml", "inventories/production/hosts.yml"])
def test_security_list_and_host_firewall_open_the_same_ports(inventory: str, tmp_path) -> None:
    security_list = render_port_model(inventory, tmp_path)
    allowed = security_list_opened(json.loads(security_list.read_text()))
    firewalls = [iptables_opened(path.read_text()) for path in tmp_path.glob("*.rules.v4")]
    assert firewalls, "no host firewall rendered"
    assert set().union(*firewalls) == allowed
    assert allowed == CADDY | LIVEKIT | {("tcp", 22, 22)}
    for path in tmp_path.glob("*.rules.v4"):
        lines = path.read_text().splitlines()
        accepts = [line for line in lines if line.startswith("-A INPUT") and "ACCEPT" in line]
        assert len(accepts) == len(set(accepts)), f"{path.name} opens a port twice"


@pytest.mark.parametrize("inventory", ["inventories/lab/hosts.yml", "inventories/production/hosts.yml"])
def test_the_provisioned_security_list_opens_what_the_host_firewall_opens(inventory: str, tmp_path) -> None:
    render_port_model(inventory, tmp_path)
    firewall = set().union(*(iptables_opened(path.read_text()) for path in tmp_path.glob("*.rules.v4")))
    stand_in = oci_stand_in.start(tmp_path)
    try:
        settings = tmp_path / "oci.json"
        settings.write_text(json.dumps(stand_in.settings()))
        run = run_playbook(REPO_ROOT / inventory, "playbooks/provision.yml", "--tags", "network",
                           "-e", f"@{settings}")
        assert run.returncode == 0, run.output[-3000:]
        [security_list] = [s for s in stand_in.state()["securityLists"] if s["freeformTags"]]
        assert security_list_opened(security_list["ingressSecurityRules"]) == firewall
        assert stand_in.state()["instances"] == [], "--tags network launched an instance"
    finally:
        stand_in.server.shutdown()


def render_port_model(inventory: str, out) -> object:
    """Each host's rules.v4 into OUT, and the console's security list (returned: its path)."""
    security_list = out / "security-list.json"
    run = run_playbook(REPO_ROOT / inventory, "tests/playbooks/port_model.yml",
                       "-e", f"oci_security_list_file={security_list}", "-e", f"port_model_dir={out}")
    assert run.returncode == 0, run.output[-3000:]
    return security_list


def test_with_ipv6_the_printed_list_is_the_provisioned_one_rule_for_rule(tmp_path) -> None:
    """oci_security_list.yml and provision.yml share one source: with oci_ipv6, both open the
    public ports from ::/0 too, and print and make the same rules."""
    inventory = REPO_ROOT / "inventories/production/hosts.yml"
    printed = tmp_path / "security-list.json"
    run = run_playbook(inventory, "playbooks/oci_security_list.yml", "-e", "oci_ipv6=true",
                       "-e", f"oci_security_list_file={printed}")
    assert run.returncode == 0, run.output[-3000:]
    stand_in = oci_stand_in.start(tmp_path)
    try:
        settings = tmp_path / "oci.json"
        settings.write_text(json.dumps({**stand_in.settings(), "oci_ipv6": True}))
        run = run_playbook(inventory, "playbooks/provision.yml", "--tags", "network", "-e", f"@{settings}")
        assert run.returncode == 0, run.output[-3000:]
        [made] = [s for s in stand_in.state()["securityLists"] if s["freeformTags"]]
    finally:
        stand_in.server.shutdown()

    fields = ("protocol", "source", "tcpOptions", "udpOptions", "icmpOptions")

    def rules(listed):
        return sorted(json.dumps({k: r[k] for k in fields if k in r}, sort_keys=True) for r in listed)

    listed = json.loads(printed.read_text())
    assert {rule["source"] for rule in listed} >= {"0.0.0.0/0", "::/0"}, listed
    assert rules(listed) == rules(made["ingressSecurityRules"])
