"""oci_instance through ansible-playbook against the OCI API emulator: the launch, capacity
errors across availability domains, the Always Free guard, limits, and teardown."""

import base64
import ipaddress
import json

import oci
import oci_stand_in
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_run import local_inventory, run_playbook

PLAYBOOK = "tests/playbooks/oci_instance.yml"
OUT_OF_CAPACITY = {
    "method": "POST",
    "path": "/instances$",
    "status": 500,
    "code": "InternalError",
    "message": "Out of host capacity.",
    "times": 100,
}


class Provisioned:
    def __init__(self, stand_in, tmp_path):
        self.oci, self.tmp_path = stand_in, tmp_path
        self.inventory = local_inventory(tmp_path / "hosts.json")

    def run(self, *args, **extra):
        extra_file = self.tmp_path / "extra.json"
        extra_file.write_text(json.dumps({**self.oci.settings(), **extra}))
        self.oci.clear_requests()
        return run_playbook(self.inventory, PLAYBOOK, "-e", f"@{extra_file}", *args, timeout=180)

    def instances(self, alive=True):
        gone = ("TERMINATING", "TERMINATED")
        return [i for i in self.oci.state()["instances"] if not alive or i["lifecycleState"] not in gone]

    def launches(self):
        return [r for r in self.oci.requests() if (r["method"], r["path"]) == ("POST", "/20160918/instances")]


@pytest.fixture
def provisioned(tmp_path):
    stand_in = oci_stand_in.start(tmp_path)
    yield Provisioned(stand_in, tmp_path)
    stand_in.server.shutdown()


def test_launch_then_a_rerun_writes_nothing(provisioned) -> None:
    first = provisioned.run()
    assert first.returncode == 0, first.output[-3000:]
    result = first.result("Instance")
    assert result["changed"] is True and result["public_ip"].startswith("203.0.113.")
    [instance] = provisioned.instances()
    assert (instance["shape"], instance["shapeConfig"]) == (
        "VM.Standard.A1.Flex",
        {"ocpus": 4.0, "memoryInGBs": 24.0},
    )
    assert base64.b64decode(instance["metadata"]["user_data"]).decode().startswith("#cloud-config")
    assert instance["metadata"]["ssh_authorized_keys"].startswith("ssh-ed25519 ")
    launch = provisioned.launches()[0]
    assert launch["retry_token"] and launch["body"]["sourceDetails"]["bootVolumeSizeInGBs"] == 50
    [public_ip] = provisioned.oci.state()["publicIps"]
    assert public_ip["lifetime"] == "RESERVED" and public_ip["freeformTags"] == {
        "flowspace-stack": "flowspace"
    }

    again = provisioned.run()
    assert again.returncode == 0, again.output[-3000:]
    assert again.unchanged()
    assert again.result("Instance")["public_ip"] == result["public_ip"]
    assert provisioned.oci.writes() == []


def test_ipv6_gives_the_instance_an_address_in_the_subnet_block(provisioned) -> None:
    first = provisioned.run(oci_ipv6=True)
    assert first.returncode == 0, first.output[-3000:]
    [address] = first.result("Instance")["ipv6_addresses"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(first.result("Network")["subnet_ipv6_cidr"])
    assert provisioned.launches()[0]["body"]["createVnicDetails"]["assignIpv6Ip"] is True

    again = provisioned.run(oci_ipv6=True)
    assert again.returncode == 0, again.output[-3000:]
    assert again.result("Instance")["ipv6_addresses"] == [address]
    assert provisioned.oci.writes() == []


def test_the_newest_image_for_the_shape_is_used(provisioned) -> None:
    run = provisioned.run()
    assert run.returncode == 0, run.output[-3000:]
    config = provisioned.oci.sdk_config()
    compute = oci.core.ComputeClient(config, service_endpoint=provisioned.oci.url)
    images = {
        i.id: i
        for i in compute.list_images(
            provisioned.oci.account["compartment"],
            operating_system="Canonical Ubuntu",
            operating_system_version="24.04",
        ).data
    }
    chosen = images[run.result("Instance")["image_id"]]
    # The seed's newest 24.04 image is for VM.Standard.E2.1.Micro (2026-11-01); the newest for
    # A1 is 2026-10-15, older A1 builds exist too.
    assert max(i.time_created for i in images.values()).isoformat()[:10] == "2026-11-01"
    assert chosen.time_created.isoformat()[:10] == "2026-10-15"


def test_out_of_capacity_in_two_domains_lands_in_the_third(provisioned) -> None:
    provisioned.oci.inject(
        {**OUT_OF_CAPACITY, "availability_domain": "Uocm:EU-FRANKFURT-1-AD-1"},
        {**OUT_OF_CAPACITY, "availability_domain": "Uocm:EU-FRANKFURT-1-AD-2"},
    )
    run = provisioned.run()
    assert run.returncode == 0, run.output[-3000:]
    result = run.result("Instance")
    assert result["availability_domain"] == "Uocm:EU-FRANKFURT-1-AD-3"
    assert [a["availability_domain"][-4:] for a in result["attempts"]] == ["AD-1", "AD-2", "AD-3"]
    assert "Out of host capacity" in result["attempts"][0]["answer"]
    assert len(provisioned.instances()) == 1
    tokens = [r["retry_token"] for r in provisioned.launches()]
    assert len(set(tokens)) == 3 and all(tokens)


def test_out_of_capacity_everywhere_fails_after_bounded_rounds_and_makes_nothing(provisioned) -> None:
    provisioned.oci.inject(OUT_OF_CAPACITY)
    run = provisioned.run(oci_launch_attempts=2)
    assert run.returncode != 0
    assert "had no capacity for VM.Standard.A1.Flex" in run.output and "over 2 round(s)" in run.output
    assert len(provisioned.launches()) == 6  # 3 availability domains x 2 rounds
    assert provisioned.instances(alive=False) == []


def test_a_limit_is_not_retried_and_is_explained(provisioned) -> None:
    provisioned.oci.inject(
        {
            "method": "POST",
            "path": "/instances$",
            "status": 400,
            "code": "LimitExceeded",
            "message": "The following service limits were exceeded: standard-a1-core-count",
            "times": 100,
        }
    )
    run = provisioned.run()
    assert run.returncode != 0
    assert len(provisioned.launches()) == 1
    assert "a service limit or quota is reached (not retried" in run.output


def test_the_always_free_ceiling_is_guarded(provisioned) -> None:
    alone = provisioned.run(oci_ocpus=6, oci_memory=36)
    assert alone.returncode != 0 and "exceeds the Always Free A1 ceiling" in alone.output
    # (The playbook's network task ran first and made the network; the instance module sent nothing.)
    compute = ("/instances", "/images", "/availabilityDomains", "/vnicAttachments", "/publicIps")
    assert [r["path"] for r in provisioned.oci.requests() if r["path"].startswith(compute, 9)] == []

    assert provisioned.run(oci_ocpus=2, oci_memory=12).returncode == 0
    second = provisioned.run(oci_instance_name="flowspace-2", oci_ocpus=4, oci_memory=12)
    assert second.returncode != 0 and "ocpus 2 in use + 4 planned > 4 free" in second.output
    assert provisioned.launches() == []
    billed = provisioned.run(
        oci_instance_name="flowspace-2", oci_ocpus=4, oci_memory=12, oci_accept_charges=True
    )
    assert billed.returncode == 0, billed.output[-3000:]
    assert len(provisioned.instances()) == 2


def test_check_mode_plans_the_launch_without_writing(provisioned) -> None:
    assert provisioned.run().returncode == 0
    check = provisioned.run(
        "--check", oci_instance_name="flowspace-2", oci_ocpus=1, oci_memory=6, oci_accept_charges=True
    )
    assert check.returncode == 0, check.output[-3000:]
    assert check.result("Instance")["actions"][0].startswith("launch flowspace-2")
    assert provisioned.oci.writes() == []


def test_teardown_terminates_the_instance_and_releases_its_address(provisioned) -> None:
    assert provisioned.run().returncode == 0
    [instance] = provisioned.instances()
    [address] = provisioned.oci.state()["publicIps"]
    gone = provisioned.run(oci_state="absent")
    assert gone.returncode == 0, gone.output[-3000:]
    deleted = [w["path"].split("/")[2:4] for w in provisioned.oci.writes() if w["method"] == "DELETE"]
    assert deleted == [["instances", instance["id"]], ["publicIps", address["id"]]]
    assert gone.result("Instance")["changed"] is True
    assert provisioned.instances() == []
    assert [
        ip
        for ip in provisioned.oci.state()["publicIps"]
        if ip["lifecycleState"] != "TERMINATED" and ip["lifecycleState"] != "TERMINATING"
    ] == []
    assert provisioned.run(oci_state="absent").unchanged()


def test_single_reads_are_retried_when_oracle_says_not_now(provisioned) -> None:
    provisioned.oci.inject(
        {"method": "GET", "path": "/instances/ocid1", "status": 429, "code": "TooManyRequests",
         "message": "Too many requests", "times": 1},
        {"method": "GET", "path": "/vnics/", "status": 503, "code": "ServiceUnavailable",
         "message": "Service unavailable", "times": 1},
        {"method": "GET", "path": "/privateIps", "status": 429, "code": "TooManyRequests",
         "message": "Too many requests", "times": 1},
    )
    run = provisioned.run()
    assert run.returncode == 0, run.output[-3000:]
    answered = [(r["path"].split("/")[2], r.get("status")) for r in provisioned.oci.requests()]
    for kind, status in (("instances", 429), ("vnics", 503), ("privateIps", 429)):
        assert (kind, status) in answered, f"the {kind} fault was met"


def test_an_instance_that_goes_terminated_after_launch_fails_at_once(provisioned) -> None:
    provisioned.oci.configure(launch_outcome="TERMINATED")
    run = provisioned.run()
    assert run.returncode != 0
    assert "went TERMINATED instead" in run.output and "after 30 s" not in run.output
    result = run.result("Instance")
    assert result["changed"] is True, "Oracle took a launch: the run changed the account"
    assert result["actions"][0].startswith("launch flowspace-1")


def test_a_capacity_failure_reports_nothing_changed(provisioned) -> None:
    provisioned.oci.inject(OUT_OF_CAPACITY)
    run = provisioned.run(oci_launch_attempts=1)
    assert run.returncode != 0
    assert run.result("Instance")["changed"] is False and run.result("Instance")["actions"] == []


def test_check_mode_on_an_empty_compartment_plans_everything(provisioned) -> None:
    check = provisioned.run("--check")
    assert check.returncode == 0, check.output[-3000:]
    assert check.result("Instance")["actions"][0].startswith("launch flowspace-1")
    assert provisioned.oci.writes() == []


@pytest.mark.parametrize(("content", "pass_phrase", "expected"), [
    (b"ssh-ed25519 AAAAC3Nza not a pem key\n", None, "is not a PEM private key"),
    ("encrypted", "wrong-pass-phrase", "could not be opened with the pass_phrase given"),
    ("encrypted", None, "is encrypted and no pass_phrase was given"),
], ids=["not-pem", "wrong-pass-phrase", "no-pass-phrase"])
def test_a_bad_api_key_is_named_without_a_traceback(provisioned, content, pass_phrase, expected) -> None:
    key_file = provisioned.tmp_path / "bad_key.pem"
    if content == "encrypted":
        content = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"the-right-pass-phrase"))
    key_file.write_bytes(content)
    extra = {"oci_key_file": str(key_file)} | ({"oci_key_pass_phrase": pass_phrase} if pass_phrase else {})
    run = provisioned.run(**extra)
    assert run.returncode != 0
    assert expected in run.output and "Traceback" not in run.output
    assert provisioned.oci.requests() == []
