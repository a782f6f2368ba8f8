"""oci_instance's main() against the OCI API emulator, in this process: the launch and a
re-run that writes nothing, check mode, the Always Free ceiling, capacity and limits,
resizing, the reserved address, teardown, and input refused before any request."""

import oci
import pytest

from ansible_collections.flowspace.infra.plugins.modules import oci_instance, oci_network

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFlowSpaceTestKeyOnly test@flowspace"
OUT_OF_CAPACITY = {"method": "POST", "path": "/instances$", "status": 500, "code": "InternalError",
                   "message": "Out of host capacity.", "times": 100}


@pytest.fixture
def subnet(oci_api, run_module):
    made = run_module(oci_network, oci_api.connection())
    assert made["exit_code"] == 0, made
    oci_api.clear()
    return made["subnet_id"]


@pytest.fixture
def instance(oci_api, run_module, subnet):
    """RUN(check_mode=False, **options): oci_instance with the test's options."""

    def run(check_mode=False, **options):
        oci_api.clear()
        args = {"name": "flowspace-1", "subnet_id": subnet, "user_data": "#cloud-config\n",
                "ssh_authorized_keys": [KEY], "launch_attempts": 2, "launch_retry_delay": 0.01,
                **oci_api.connection(), **options}
        return run_module(oci_instance, args, check_mode=check_mode)

    return run


def launches(oci_api):
    return [r for r in oci_api.writes() if r["path"] == "/20160918/instances"]


def test_a_launch_then_a_rerun_that_writes_nothing(oci_api, instance) -> None:
    first = instance()
    assert first["exit_code"] == 0, first
    assert first["changed"] is True
    assert first["actions"][0].startswith(
        "launch flowspace-1 (VM.Standard.A1.Flex, 4 OCPUs, 24 GB): ocid1.")
    assert first["actions"][1].startswith("reserve public IP flowspace-1-ip for 10.0.0.")
    assert first["public_ip"] and first["private_ip"].startswith("10.0.0.")
    [launch] = launches(oci_api)
    body = launch["body"]
    assert body["shape"] == "VM.Standard.A1.Flex"
    assert body["shapeConfig"] == {"ocpus": 4.0, "memoryInGBs": 24.0}
    assert body["sourceDetails"]["bootVolumeSizeInGBs"] == 50 and launch["retry_token"]
    assert body["metadata"] == {"ssh_authorized_keys": KEY, "user_data": "I2Nsb3VkLWNvbmZpZwo="}
    assert body["createVnicDetails"]["assignPublicIp"] is False
    assert body["freeformTags"] == {"flowspace-stack": "flowspace"}
    # The newest 24.04 image for the shape (the emulator lists an older one after it).
    newest = max((i for i in oci_api.state.images if i["operatingSystemVersion"] == "24.04"
                  and "VM.Standard.A1.Flex" in i["shapes"]), key=lambda i: i["timeCreated"])
    assert first["image_id"] == newest["id"] == body["sourceDetails"]["imageId"]
    [public_ip] = oci_api.alive("publicIps")
    assert public_ip["lifetime"] == "RESERVED" and public_ip["displayName"] == "flowspace-1-ip"

    again = instance()
    assert (again["exit_code"], again["changed"], again["actions"]) == (0, False, [])
    assert again["public_ip"] == first["public_ip"] and again["instance_id"] == first["instance_id"]
    assert oci_api.writes() == []


def test_check_mode_plans_the_launch_and_the_address_without_writing(oci_api, instance) -> None:
    check = instance(check_mode=True)
    assert check["exit_code"] == 0, check
    assert check["changed"] is True
    assert [a.split(" ", 1)[0] for a in check["actions"]] == ["launch", "reserve"]
    assert oci_api.writes() == [] and oci_api.alive("instances") == []


def test_check_mode_without_a_subnet_yet_plans_the_launch(oci_api, run_module) -> None:
    args = {"name": "flowspace-1", **oci_api.connection()}
    check = run_module(oci_instance, args, check_mode=True)
    assert check["exit_code"] == 0 and check["changed"] is True, check
    refused = run_module(oci_instance, args)
    assert refused["exit_code"] == 1 and "subnet_id None is not an OCID" in refused["msg"]


def test_a_resize_is_an_update_in_place(oci_api, instance) -> None:
    instance()
    resized = instance(ocpus=2, memory_in_gbs=12)
    assert resized["exit_code"] == 0 and resized["changed"] is True, resized
    assert resized["actions"] == [f"resize {resized['instance_id']} to 2 OCPUs, 12 GB"]
    [update] = oci_api.writes()
    assert update["method"] == "PUT" and update["body"]["shapeConfig"] == {"ocpus": 2.0, "memoryInGBs": 12.0}
    assert instance(ocpus=2, memory_in_gbs=12)["changed"] is False


def test_the_always_free_ceiling_counts_the_other_instances(oci_api, instance) -> None:
    assert instance(ocpus=2, memory_in_gbs=12)["exit_code"] == 0
    over = instance(name="flowspace-2", ocpus=3, memory_in_gbs=16, boot_volume_size_in_gbs=160)
    assert over["exit_code"] == 1
    assert over["msg"] == (
        "the plan (flowspace-2) exceeds Oracle's Always Free A1 ceiling (ocpus 2 in use + 3 planned > 4 "
        "free; memory_in_gbs 12 in use + 16 planned > 24 free; block_gbs 50 in use + 160 planned > 200 "
        "free); "
        "nothing was created. Lower ocpus/memory_in_gbs/boot_volume_size_in_gbs or set accept_charges=true")
    assert over["in_use"] == {"ocpus": 2.0, "memory_in_gbs": 12.0, "block_gbs": 50}
    assert over["planned"] == {"ocpus": 3, "memory_in_gbs": 16, "block_gbs": 160}
    assert (over["changed"], over["actions"]) == (False, [])
    assert oci_api.writes() == []
    fits = instance(name="flowspace-2", ocpus=2, memory_in_gbs=12)
    assert fits["exit_code"] == 0 and fits["changed"] is True, fits
    paid = instance(name="flowspace-3", ocpus=1, memory_in_gbs=6, accept_charges=True)
    assert paid["exit_code"] == 0, paid


def test_a_failed_list_of_the_compartment_is_named(oci_api, instance) -> None:
    assert instance(ocpus=2, memory_in_gbs=12)["exit_code"] == 0
    # The first list finds the instance by name; the second is the ceiling's.
    oci_api.inject({"method": "GET", "path": "/instances$", "status": 409, "code": "Conflict",
                    "message": "busy", "skip": 1})
    failed = instance(name="flowspace-2", ocpus=2, memory_in_gbs=12)
    assert (failed["exit_code"], failed["changed"]) == (1, False)
    assert failed["msg"] == "list the compartment's instances: Oracle answered 409 Conflict: busy"


def test_a_plan_is_checked_whole_before_the_first_write(oci_api, instance) -> None:
    plan = [{"name": "flowspace-1", "ocpus": 2, "memory_in_gbs": 12},
            {"name": "flowspace-2", "ocpus": 2, "memory_in_gbs": 12, "boot_volume_size_in_gbs": 160}]
    checked = instance(plan=plan, only_check_plan=True)
    assert checked["exit_code"] == 1
    assert "block_gbs 0 in use + 210 planned > 200 free" in checked["msg"]
    assert oci_api.requests() and oci_api.writes() == []
    plan[1]["boot_volume_size_in_gbs"] = 150
    fits = instance(plan=plan, only_check_plan=True)
    assert (fits["exit_code"], fits["changed"]) == (0, False)
    assert [p["name"] for p in fits["planned"]] == ["flowspace-1", "flowspace-2"]


def test_capacity_moves_on_to_the_next_domain(oci_api, instance) -> None:
    first_domain = {**OUT_OF_CAPACITY, "times": 1}
    oci_api.inject(first_domain)
    launched = instance()
    assert launched["exit_code"] == 0, launched
    tried = launched["attempts"]
    assert len(tried) == 2 and "Out of host capacity" in tried[0]["answer"] and "answer" not in tried[1]
    assert tried[0]["availability_domain"] != tried[1]["availability_domain"]
    assert launched["availability_domain"] == tried[1]["availability_domain"]


def test_capacity_everywhere_fails_after_the_rounds_and_changes_nothing(oci_api, instance) -> None:
    oci_api.inject(OUT_OF_CAPACITY)
    failed = instance(availability_domains=["AD-1", "AD-2"], fault_domains=["FAULT-DOMAIN-1"])
    assert failed["exit_code"] == 1 and failed["changed"] is False
    assert ("no capacity for VM.Standard.A1.Flex (4 OCPUs, 24 GB) in any of AD-1, AD-2 over 2 round(s)"
            in failed["msg"])
    assert [(a["round"], a["availability_domain"], a["fault_domain"]) for a in failed["attempts"]] == [
        (1, "AD-1", "FAULT-DOMAIN-1"), (1, "AD-2", "FAULT-DOMAIN-1"),
        (2, "AD-1", "FAULT-DOMAIN-1"), (2, "AD-2", "FAULT-DOMAIN-1")]
    assert oci_api.alive("instances") == [] and oci_api.alive("publicIps") == []


def test_a_limit_is_explained_and_not_retried(oci_api, instance) -> None:
    oci_api.inject({"method": "POST", "path": "/instances$", "status": 400, "code": "LimitExceeded",
                    "message": "standard-a1-core-count limit reached"})
    failed = instance()
    assert failed["exit_code"] == 1 and len(launches(oci_api)) == 1
    assert "400 LimitExceeded" in failed["msg"] and "a service limit or quota is reached" in failed["msg"]


def test_an_instance_that_ends_after_launch_fails_at_once(oci_api, instance) -> None:
    oci_api.state.launch_outcome = "TERMINATED"
    failed = instance(wait_timeout=60)
    assert failed["exit_code"] == 1, failed
    assert "went TERMINATED instead" in failed["msg"]
    assert failed["changed"] is True and failed["actions"][0].startswith("launch flowspace-1")


def test_teardown_terminates_and_releases_the_address(oci_api, instance) -> None:
    made = instance()
    gone = instance(state="absent")
    assert gone["exit_code"] == 0 and gone["changed"] is True, gone
    assert gone["actions"] == [
        f"terminate flowspace-1 ({made['instance_id']}) and its boot volume",
        f"delete reserved public IP {made['public_ip']}"]
    terminate = next(w for w in oci_api.writes() if w["method"] == "DELETE" and "/instances/" in w["path"])
    assert terminate["query"].get("preserveBootVolume") == "false"
    assert oci_api.alive("instances") == [] and oci_api.alive("publicIps") == []
    again = instance(state="absent")
    assert (again["changed"], oci_api.writes()) == (False, [])


def test_teardown_in_check_mode_writes_nothing(oci_api, instance) -> None:
    instance()
    check = instance(state="absent", check_mode=True)
    assert check["changed"] is True and len(check["actions"]) == 2
    assert oci_api.writes() == [] and len(oci_api.alive("instances")) == 1


def test_an_address_moved_by_hand_is_assigned_back(oci_api, instance) -> None:
    made = instance()
    with oci_api.state.lock:
        [public_ip] = oci_api.state.resources["publicIps"].values()
        public_ip.update(privateIpId=None, assignedEntityId=None)
    healed = instance()
    assert healed["changed"] is True and healed["actions"] == [
        f"assign public IP {made['public_ip']} to {made['private_ip']}"]
    assert [w["method"] for w in oci_api.writes()] == ["PUT"]
    assert instance()["changed"] is False


def test_single_reads_are_sent_again_when_oracle_says_not_now(oci_api, instance) -> None:
    instance()
    oci_api.inject({"method": "GET", "path": "/vnics/", "status": 429, "code": "TooManyRequests",
                    "message": "slow down", "times": 2})
    again = instance()
    assert again["exit_code"] == 0, again
    assert len([r for r in oci_api.requests() if "/vnics/" in r["path"]]) == 3


def test_an_instance_with_the_name_but_not_the_tag_is_refused(oci_api, instance) -> None:
    instance()
    with oci_api.state.lock:
        [made] = oci_api.state.resources["instances"].values()
        made["freeformTags"] = {}
    refused = instance()
    assert refused["exit_code"] == 1
    assert "is named 'flowspace-1' but has no flowspace-stack=flowspace tag" in refused["msg"]
    assert oci_api.writes() == []


def test_no_image_for_the_version_is_named(oci_api, instance) -> None:
    failed = instance(operating_system_version="99.04")
    assert failed["exit_code"] == 1
    assert failed["msg"] == "no Canonical Ubuntu 99.04 image for VM.Standard.A1.Flex in this region"


@pytest.mark.parametrize(("options", "expected"), [
    ({"subnet_id": "subnet-1"}, "subnet_id 'subnet-1' is not an OCID"),
    ({"image_id": "ubuntu"}, "image_id 'ubuntu' is not an OCID"),
    ({"ocpus": 0}, "ocpus and memory_in_gbs must be positive"),
    ({"memory_in_gbs": 0.5, "ocpus": 1}, "takes 1 to 64 GB of memory per OCPU"),
    ({"memory_in_gbs": 65, "ocpus": 1, "accept_charges": True}, "takes 1 to 64 GB of memory per OCPU"),
    ({"boot_volume_size_in_gbs": 49}, "boot_volume_size_in_gbs must be at least 50"),
    ({"launch_attempts": 0}, "launch_attempts must be at least 1"),
    ({"launch_retry_delay": -1}, "launch_retry_delay at least 0"),
    ({"ocpus": 5, "memory_in_gbs": 25}, "(ocpus=5 > 4, memory_in_gbs=25 > 24)"),
    ({"boot_volume_size_in_gbs": 201}, "boot_volume_size_in_gbs=201 > 200"),
    ({"fingerprint": "aa:bb"}, "is not an API key fingerprint"),
], ids=["subnet", "image", "ocpus", "memory-low", "memory-high", "boot-volume", "attempts", "delay",
        "over-free", "over-free-disk", "fingerprint"])
def test_bad_input_is_refused_before_any_request(oci_api, instance, options, expected) -> None:
    refused = instance(**options)
    assert refused["exit_code"] == 1 and expected in refused["msg"], refused
    assert oci_api.requests() == []


def test_the_edges_of_the_input_rules_are_accepted(oci_api, instance) -> None:
    edge = instance(ocpus=1, memory_in_gbs=1, boot_volume_size_in_gbs=50, launch_attempts=1,
                    launch_retry_delay=0, check_mode=True)
    assert edge["exit_code"] == 0, edge
    top = instance(ocpus=4, memory_in_gbs=24, boot_volume_size_in_gbs=200, check_mode=True)
    assert top["exit_code"] == 0, top
    wide = instance(ocpus=1, memory_in_gbs=64, accept_charges=True, check_mode=True)
    assert wide["exit_code"] == 0, wide


@pytest.mark.parametrize(("status", "message", "capacity"), [
    (500, "Out of host capacity.", True), (500, "out of HOST capacity for shape", True),
    (400, "Shape VM.Standard.A1.Flex not found in AD-2", True), (404, "shape not found", True),
    (401, "shape not found", False), (400, "Shape missing", False), (400, "image not found", False),
    (500, "Internal error", False)])
def test_what_counts_as_no_capacity(status, message, capacity) -> None:
    error = oci.exceptions.ServiceError(status, "Code", {}, message)
    assert oci_instance.is_capacity_error(error) is capacity


@pytest.mark.parametrize(("fault", "doing"), [
    ({"method": "DELETE", "path": "/instances/"}, "terminate the instance"),
    ({"method": "DELETE", "path": "/publicIps/"}, "delete the reserved public IP"),
])
def test_a_failed_teardown_step_is_named_and_keeps_what_it_did(oci_api, instance, fault, doing) -> None:
    instance()
    oci_api.inject({**fault, "status": 409, "code": "Conflict", "message": "busy"})
    failed = instance(state="absent")
    assert failed["exit_code"] == 1
    assert failed["msg"] == f"{doing}: Oracle answered 409 Conflict: busy"
    if doing.startswith("delete"):
        assert failed["changed"] is True and failed["actions"][0].startswith("terminate flowspace-1")


@pytest.mark.parametrize(("method", "path", "doing"), [
    ("GET", "/images$", "look up the image"),
    ("GET", "/availabilityDomains$", "list the availability domains"),
    ("GET", "/instances/ocid", "wait for the instance to run"),
    ("GET", "/vnicAttachments$", "list the instance's VNICs"),
    ("GET", "/privateIps", "read the VNIC's addresses"),
    ("POST", "/publicIps$", "reserve a public IP"),
])
def test_each_failed_launch_step_is_named_whole(oci_api, instance, method, path, doing) -> None:
    oci_api.inject({"method": method, "path": path, "status": 409, "code": "Conflict", "message": "busy"})
    failed = instance()
    assert failed["exit_code"] == 1, failed
    expected = (f"{doing}: Oracle answered 409 Conflict: busy", 409, "Conflict")
    assert (failed["msg"], failed["status"], failed["code"]) == expected
    launched = any(r["method"] == "POST" and r["path"].endswith("/instances") for r in oci_api.writes())
    assert failed["changed"] is launched, "a failure after the launch keeps changed"
