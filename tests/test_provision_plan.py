"""playbooks/provision.yml for a stack of several hosts against the OCI API emulator, without
booting them (oci_wait_for_ssh: false): the whole plan is checked against the free allowance
before anything is made, each host's address follows its own instance when another host's
fails, and check mode plans an empty compartment."""

import ipaddress
import json
from pathlib import Path

import oci_stand_in
import pytest
import yaml

from ansible_run import run_playbook, write_inventory

HOSTS = ("flowspace-plan-a", "flowspace-plan-b")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFlowSpacePlanTestKeyOnly plan@flowspace"


class Stack:
    def __init__(self, work: Path, stand_in, sizes: dict):
        self.work, self.oci = work, stand_in
        hosts = {name: {**stand_in.settings(), "oci_wait_for_ssh": False, "oci_ocpus": ocpus,
                        "oci_memory_in_gbs": ocpus * 6, "flowspace_admin_ssh_public_keys": [KEY],
                        "oci_launch_attempts": 1, "oci_launch_retry_delay": 0}
                 for name, ocpus in sizes.items()}
        self.inventory = write_inventory(work / "hosts.json", hosts)

    def provision(self, *args: str):
        self.oci.clear_requests()
        return run_playbook(self.inventory, "playbooks/provision.yml", "-e",
                            f"cloud_init_dir={self.work / 'out'}", *args, timeout=300)

    def address_file(self, host: str) -> Path:
        return self.work / "host_vars" / host / "oci_address.yml"

    def instances(self) -> dict:
        return {i["displayName"]: i for i in self.oci.state()["instances"]
                if i["lifecycleState"] not in ("TERMINATING", "TERMINATED")}


@pytest.fixture
def stack(tmp_path):
    stand_ins = []

    def make(sizes):
        stand_in = oci_stand_in.start(tmp_path)
        stand_ins.append(stand_in)
        return Stack(tmp_path, stand_in, sizes)

    yield make
    for stand_in in stand_ins:
        stand_in.server.shutdown()


def test_a_plan_over_the_allowance_is_refused_before_anything_is_made(stack) -> None:
    over = stack(dict.fromkeys(HOSTS, 3))  # 3 + 3 OCPUs > 4, each alone within it
    run = over.provision()
    assert run.returncode != 0
    assert "ocpus 0 in use + 6 planned > 4 free" in run.output, run.output[-3000:]
    assert over.oci.writes() == [], "neither the network nor an instance was made"
    assert not any(over.address_file(host).exists() for host in HOSTS)


def test_each_host_keeps_its_address_when_another_hosts_launch_fails(stack) -> None:
    two = stack(dict.fromkeys(HOSTS, 2))
    two.oci.inject({"method": "POST", "path": "/instances$", "status": 400, "code": "LimitExceeded",
                    "message": "standard-a1-core-count", "display_name": HOSTS[1], "times": 10})
    run = two.provision()
    assert run.returncode != 0
    assert sorted(two.instances()) == [HOSTS[0]]
    written = yaml.safe_load(two.address_file(HOSTS[0]).read_text())
    assert written["ansible_host"].startswith("203.0.113.")
    assert not two.address_file(HOSTS[1]).exists()


def test_an_instance_with_ipv6_records_its_address_for_the_dns_play(stack) -> None:
    one = stack({HOSTS[0]: 2})
    run = one.provision("-e", "oci_ipv6=true")
    assert run.returncode == 0, run.output[-3000:]
    written = yaml.safe_load(one.address_file(HOSTS[0]).read_text())
    assert set(written) == {"ansible_host", "flowspace_public_ipv6"}
    [subnet] = one.oci.state()["subnets"]
    address = ipaddress.ip_address(written["flowspace_public_ipv6"])
    assert address.version == 6 and address in ipaddress.ip_network(subnet["ipv6CidrBlock"])


def test_a_partial_teardown_forgets_exactly_the_hosts_it_removed(stack) -> None:
    two = stack(dict.fromkeys(HOSTS, 2))
    made = two.provision()
    assert made.returncode == 0, made.output[-3000:]
    assert all(two.address_file(host).exists() for host in HOSTS)
    doomed = two.instances()[HOSTS[1]]["id"]
    two.oci.inject({"method": "DELETE", "path": f"/instances/{doomed}", "status": 409,
                    "code": "Conflict", "message": "instance is busy", "times": 10})
    run = two.provision("-e", "oci_state=absent")
    assert run.returncode != 0
    assert sorted(two.instances()) == [HOSTS[1]]
    assert not two.address_file(HOSTS[0]).exists(), "removed: its address is forgotten"
    assert two.address_file(HOSTS[1]).exists(), "still there: its address is kept"


def test_check_mode_on_an_empty_compartment_reports_the_plan_and_writes_nothing(stack) -> None:
    two = stack(dict.fromkeys(HOSTS, 2))
    run = two.provision("--check")
    assert run.returncode == 0, run.output[-3000:]
    assert two.oci.writes() == []
    results = run.result("The instances, one per host")["results"]
    assert [r["actions"][0].split(" (")[0] for r in results] == [f"launch {host}" for host in HOSTS]
    assert json.dumps(run.output).count("subnet_id None") == 0
