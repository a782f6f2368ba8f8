"""From an empty Oracle Cloud compartment to a converged host, as a user runs it:
playbooks/provision.yml against the OCI API emulator makes the network and an A1 instance that
boots (an OCI-Ubuntu-like host with only cloud-init and Oracle's firewall) with the user_data
playbooks/cloud_init.yml renders, writes its address into the inventory and waits for SSH and
cloud-init; site.yml then converges it over SSH as the admin user with no manual step."""

import json

import oci_stand_in
import pytest
import yaml

from ansible_run import run_playbook, write_inventory
from labkit.lab import hosts, paths
from labkit.lab.oci_boot import LabBoot
from labkit.standins import pebble

pytestmark = pytest.mark.integration

HOST_NAME = "flowspace-pytest-firstboot"
DOMAINS = {
    "flowspace_socket_domain": "socket.firstboot.pytest.test",
    "flowspace_livekit_domain": "livekit.firstboot.pytest.test",
}
# The lab's admin login, without an address: provision writes it.
ADMIN = {
    "ansible_user": "ubuntu",
    "ansible_ssh_private_key_file": str(paths.lab_key()),
    "ansible_ssh_common_args": (
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    ),
    "ansible_host_key_checking": False,
}


class Provisioned:
    def __init__(self, work, stand_in, lab_boot, inventory, run):
        self.work, self.oci, self.lab_boot, self.inventory, self.first_run = (
            work,
            stand_in,
            lab_boot,
            inventory,
            run,
        )

    def provision(self, *args: str):
        self.oci.clear_requests()
        return run_playbook(
            self.inventory,
            "playbooks/provision.yml",
            "-e",
            f"cloud_init_dir={self.work / 'out'}",
            *args,
            timeout=900,
        )

    @property
    def host(self) -> hosts.Host:
        return hosts.Host(LabBoot.container({"displayName": HOST_NAME}), "debian12", 0)


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    work = tmp_path_factory.mktemp("firstboot")
    lab_boot = LabBoot(work / "seeds")
    stand_in = oci_stand_in.start(work, boot=lab_boot.boot, halt=lab_boot.halt)
    inventory = write_inventory(
        work / "hosts.json",
        {
            HOST_NAME: {
                **ADMIN,
                **DOMAINS,
                **stand_in.settings(),
                "oci_launch_retry_delay": 1,
                "oci_ssh_timeout": 300,
            }
        },
    )
    site = Provisioned(work, stand_in, lab_boot, inventory, None)
    site.first_run = site.provision()
    yield site
    lab_boot.remove_all()
    stand_in.server.shutdown()


def test_provision_makes_the_instance_and_writes_its_address(provisioned) -> None:
    run = provisioned.first_run
    assert run.returncode == 0, run.output[-4000:]
    writes = [(w["method"], w["path"].split("/")[2]) for w in provisioned.oci.writes()]
    assert writes == [
        ("POST", kind)
        for kind in (
            "vcns",
            "internetGateways",
            "routeTables",
            "securityLists",
            "subnets",
            "instances",
            "publicIps",
        )
    ]
    written = yaml.safe_load((provisioned.work / "host_vars" / HOST_NAME / "oci_address.yml").read_text())
    assert written == {"ansible_host": provisioned.host.ip_address()}
    [instance] = [i for i in provisioned.oci.state()["instances"] if i["lifecycleState"] == "RUNNING"]
    assert instance["displayName"] == HOST_NAME and instance["shape"] == "VM.Standard.A1.Flex"


def test_cloud_init_applied_the_rendered_user_data(provisioned) -> None:
    host = provisioned.host
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


def test_a_second_provision_run_writes_nothing(provisioned) -> None:
    again = provisioned.provision()
    assert again.returncode == 0, again.output[-3000:]
    assert provisioned.oci.writes() == []
    assert again.changed_tasks == {}, again.changed_tasks


def test_site_converges_over_ssh_as_the_admin_user(provisioned) -> None:
    host = provisioned.host
    acme = pebble.ensure_running()
    for domain in DOMAINS.values():
        acme.add_a(domain, host.ip_address())
    # Ansible's plain linear strategy here (ansible.cfg's is Mitogen's): the plays do not
    # depend on it. The Vercel layer is test_site's; this host's app is not on Vercel.
    run = run_playbook(
        provisioned.inventory,
        "site.yml",
        "-e",
        "flowspace_vercel_sync=false",
        timeout=1200,
        env={"ANSIBLE_STRATEGY": "linear"},
    )
    assert run.returncode == 0, run.output[-3000:]
    assert host.exec("systemctl", "is-active", "caddy").stdout.strip() == "active"
    assert "passwordauthentication no" in host.exec("sshd", "-T").stdout.splitlines()


def test_keys_that_are_not_ssh_public_keys_are_refused(provisioned, tmp_path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({"flowspace_admin_ssh_public_keys": ["my key"], "cloud_init_dir": str(tmp_path)})
    )
    run = run_playbook(provisioned.inventory, "playbooks/cloud_init.yml", "-e", f"@{extra}")
    assert run.returncode != 0
    assert "must be an OpenSSH public key line" in " ".join(run.failures[HOST_NAME])
    assert not (tmp_path / f"{HOST_NAME}.yaml").exists()


def test_teardown_removes_the_instance_and_the_network(provisioned) -> None:
    run = provisioned.provision("-e", "oci_state=absent")
    assert run.returncode == 0, run.output[-3000:]
    state = provisioned.oci.state()
    assert all(
        r["lifecycleState"] in ("TERMINATING", "TERMINATED")
        for kind in state.values()
        for r in kind
        if r.get("freeformTags", {}).get("flowspace-stack") == "flowspace"
    )
    assert hosts.lab_containers().count(provisioned.host.name) == 0
