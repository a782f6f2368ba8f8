"""oci_network's main() against the OCI API emulator, in this process: what it creates and in
which order, a re-run that only reads, drift on routes, gateway, subnet and security list,
check mode and diff, teardown of exactly what it made, and input refused before any request."""

import ipaddress

import pytest

from ansible_collections.flowspace.infra.plugins.filter.oci import oci_ingress_rules
from ansible_collections.flowspace.infra.plugins.modules import oci_network

PORTS = [{"port": 443, "protocol": "tcp", "purpose": "HTTPS"},
         {"port": 443, "protocol": "udp", "purpose": "HTTP/3"},
         {"port": 50000, "port_end": 60000, "protocol": "udp", "purpose": "media"}]
CREATES = ["vcns", "internetGateways", "routeTables", "securityLists", "subnets"]


@pytest.fixture
def network(oci_api, run_module):
    """RUN(check_mode=False, diff=False, **options): oci_network with the test's options."""

    def run(check_mode=False, diff=False, **options):
        oci_api.clear()
        ipv6 = options.get("ipv6", False)
        sources = ["0.0.0.0/0"] + (["::/0"] if ipv6 else [])
        args = {"ingress_rules": oci_ingress_rules(PORTS, 22, sources), **oci_api.connection(), **options}
        return run_module(oci_network, args, check_mode=check_mode, diff=diff)

    return run


def writes(oci_api):
    return [(w["method"], w["path"].split("/")[2]) for w in oci_api.writes()]


def one(oci_api, kind, resource_id):
    with oci_api.state.lock:
        return oci_api.state.resources[kind][resource_id]


def test_first_run_creates_in_order_and_a_rerun_only_reads(oci_api, network) -> None:
    first = network()
    assert first["exit_code"] == 0 and first["changed"] is True, first
    assert writes(oci_api) == [("POST", kind) for kind in CREATES]
    assert [a.split(" ", 2)[1] for a in first["actions"]] == [
        "VCN", "internet", "route", "security", "public"]
    vcn = one(oci_api, "vcns", first["vcn_id"])
    assert (vcn["cidrBlocks"], vcn["dnsLabel"], vcn["displayName"]) == (
        ["10.0.0.0/16"], "flowspace", "flowspace-vcn")
    subnet = one(oci_api, "subnets", first["subnet_id"])
    assert subnet["securityListIds"] == [first["security_list_id"]]
    assert (subnet["routeTableId"], subnet["cidrBlock"]) == (first["route_table_id"], "10.0.0.0/24")
    assert subnet["prohibitPublicIpOnVnic"] is False
    routes = one(oci_api, "routeTables", first["route_table_id"])
    assert [(r["destination"], r["networkEntityId"]) for r in routes["routeRules"]] == [
        ("0.0.0.0/0", first["internet_gateway_id"])]
    assert one(oci_api, "internetGateways", first["internet_gateway_id"])["isEnabled"] is True
    security = one(oci_api, "securityLists", first["security_list_id"])
    assert [(r["protocol"], r["destination"], r.get("isStateless"))
            for r in security["egressSecurityRules"]] == [("all", "0.0.0.0/0", False)]
    assert len(security["ingressSecurityRules"]) == len(oci_ingress_rules(PORTS, 22, ["0.0.0.0/0"]))
    assert first["unmanaged_rules"] == []
    for kind in CREATES:  # (Oracle's default route table and security list are the VCN's, untagged)
        ours = [r for r in oci_api.alive(kind) if r["displayName"].startswith("flowspace-")]
        assert [r["freeformTags"] for r in ours] == [{"flowspace-stack": "flowspace"}], kind

    again = network()
    assert (again["exit_code"], again["changed"], again["actions"]) == (0, False, [])
    assert oci_api.writes() == [] and oci_api.requests()
    assert (again["vcn_id"], again["subnet_id"]) == (first["vcn_id"], first["subnet_id"])


def test_check_mode_on_an_empty_compartment_plans_everything(oci_api, network) -> None:
    check = network(check_mode=True, diff=True)
    assert check["exit_code"] == 0 and check["changed"] is True, check
    assert [a.split(" ", 2)[1] for a in check["actions"]] == [
        "VCN", "internet", "route", "security", "public"]
    assert "tcp 443 from 0.0.0.0/0 (HTTPS)" in check["diff"]["after"]["ingress"]
    assert check["diff"]["before"] == {}
    assert oci_api.writes() == [] and oci_api.alive("vcns") == []


def set_rules(oci_api, security_list_id, ingress=None, egress=None):
    with oci_api.state.lock:
        security = oci_api.state.resources["securityLists"][security_list_id]
        if ingress is not None:
            security["ingressSecurityRules"] = ingress(security["ingressSecurityRules"])
        if egress is not None:
            security["egressSecurityRules"] = egress


HAND_RULE = {"protocol": "6", "source": "0.0.0.0/0", "sourceType": "CIDR_BLOCK", "isStateless": False,
             "tcpOptions": {"destinationPortRange": {"min": 3306, "max": 3306}}}


def test_a_rule_added_by_hand_is_reported_then_kept_or_removed(oci_api, network) -> None:
    made = network()
    set_rules(oci_api, made["security_list_id"], ingress=lambda rules: [*rules, HAND_RULE])
    check = network(check_mode=True, diff=True)
    assert check["changed"] is True and check["unmanaged_rules"] == ["tcp 3306 from 0.0.0.0/0"]
    assert "tcp 3306 from 0.0.0.0/0" in check["diff"]["before"]["ingress"]
    assert "tcp 3306 from 0.0.0.0/0" not in check["diff"]["after"]["ingress"]
    assert any("3306" in w and "(removed)" in w for w in check["warnings"])
    assert oci_api.writes() == []
    kept = network(unmanaged_rules="keep")
    assert kept["changed"] is False and kept["unmanaged_rules"] == ["tcp 3306 from 0.0.0.0/0"]
    assert any("(kept)" in w for w in kept["warnings"])
    healed = network()
    assert healed["changed"] is True
    [update] = oci_api.writes()
    assert (update["method"], update["path"]) == (
        "PUT", f"/20160918/securityLists/{made['security_list_id']}")
    ports = {r["tcpOptions"]["destinationPortRange"]["min"]
             for r in one(oci_api, "securityLists", made["security_list_id"])["ingressSecurityRules"]
             if r.get("tcpOptions")}
    assert ports == {22, 443}
    assert network()["changed"] is False


def test_a_removed_rule_is_put_back(oci_api, network) -> None:
    made = network()
    set_rules(oci_api, made["security_list_id"], ingress=lambda rules: rules[1:])
    healed = network()
    assert healed["changed"] is True and healed["unmanaged_rules"] == []
    assert network()["changed"] is False


@pytest.mark.parametrize("drift", [
    {"protocol": "6"}, {"isStateless": True}, {"destination": "10.0.0.0/8"},
    {"protocol": "17", "udpOptions": {"destinationPortRange": {"min": 53, "max": 53}}},
    {"protocol": "6", "tcpOptions": {"destinationPortRange": {"min": 443, "max": 443}}},
    {"protocol": "1", "icmpOptions": {"type": 3, "code": 4}},
    {"destinationType": "SERVICE_CIDR_BLOCK"},
], ids=["protocol", "stateless", "destination", "udp-port", "tcp-port", "icmp", "type"])
def test_a_drifted_egress_rule_is_healed(oci_api, network, drift) -> None:
    made = network()
    rule = {"protocol": "all", "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK",
            "isStateless": False, **drift}
    set_rules(oci_api, made["security_list_id"], egress=[rule])
    healed = network()
    assert healed["changed"] is True, healed
    [egress] = one(oci_api, "securityLists", made["security_list_id"])["egressSecurityRules"]
    assert (egress["protocol"], egress["destination"], egress.get("isStateless")) == (
        "all", "0.0.0.0/0", False)
    assert not any(key in egress and egress[key] for key in ("tcpOptions", "udpOptions", "icmpOptions"))
    assert network()["changed"] is False


def test_routes_gateway_and_subnet_drift_are_healed(oci_api, network) -> None:
    made = network()
    with oci_api.state.lock:
        oci_api.state.resources["routeTables"][made["route_table_id"]]["routeRules"] = []
        oci_api.state.resources["internetGateways"][made["internet_gateway_id"]]["isEnabled"] = False
        oci_api.state.resources["subnets"][made["subnet_id"]]["securityListIds"] = []
    healed = network()
    assert healed["changed"] is True
    assert sorted(w["path"].split("/")[2] for w in oci_api.writes()) == [
        "internetGateways", "routeTables", "subnets"]
    assert one(oci_api, "internetGateways", made["internet_gateway_id"])["isEnabled"] is True
    assert one(oci_api, "subnets", made["subnet_id"])["securityListIds"] == [made["security_list_id"]]
    routes = one(oci_api, "routeTables", made["route_table_id"])["routeRules"]
    assert [r["destination"] for r in routes] == ["0.0.0.0/0"]
    assert network()["changed"] is False


def test_a_block_that_cannot_change_in_place_is_refused(oci_api, network) -> None:
    network()
    other_vcn = network(vcn_cidr="10.0.0.0/15")
    assert other_vcn["exit_code"] == 1 and "not vcn_cidr=10.0.0.0/15" in other_vcn["msg"]
    other_subnet = network(subnet_cidr="10.0.1.0/24")
    assert other_subnet["exit_code"] == 1 and "not subnet_cidr=10.0.1.0/24" in other_subnet["msg"]
    switched = network(ipv6=True)
    assert switched["exit_code"] == 1 and "was made with ipv6=False" in switched["msg"]
    assert oci_api.writes() == []


def test_ipv6_carves_the_subnet_block_from_the_vcn(oci_api, network) -> None:
    made = network(ipv6=True)
    assert made["exit_code"] == 0, made
    [vcn_block] = one(oci_api, "vcns", made["vcn_id"])["ipv6CidrBlocks"]
    expected = next(ipaddress.ip_network(vcn_block).subnets(new_prefix=64))
    assert made["subnet_ipv6_cidr"] == str(expected)
    routes = one(oci_api, "routeTables", made["route_table_id"])
    assert sorted(r["destination"] for r in routes["routeRules"]) == ["0.0.0.0/0", "::/0"]
    security = one(oci_api, "securityLists", made["security_list_id"])
    assert sorted(r["destination"] for r in security["egressSecurityRules"]) == ["0.0.0.0/0", "::/0"]
    assert network(ipv6=True)["changed"] is False
    back = network(ipv6=False)
    assert back["exit_code"] == 1 and "was made with ipv6=True" in back["msg"]


def test_teardown_removes_what_it_made_in_reverse(oci_api, network) -> None:
    made = network()
    gone = network(state="absent")
    assert gone["exit_code"] == 0 and gone["changed"] is True, gone
    assert [kind for method, kind in writes(oci_api) if method == "DELETE"] == list(reversed(CREATES))
    assert all(a.startswith("delete flowspace-") for a in gone["actions"])
    assert made["vcn_id"] in gone["actions"][-1]
    assert oci_api.alive("vcns") == [] and oci_api.alive("subnets") == []
    again = network(state="absent")
    assert (again["changed"], oci_api.writes()) == (False, [])


def test_teardown_in_check_mode_writes_nothing(oci_api, network) -> None:
    network()
    check = network(state="absent", check_mode=True)
    assert check["changed"] is True and len(check["actions"]) == 5
    assert oci_api.writes() == [] and len(oci_api.alive("vcns")) == 1


def test_another_stacks_name_is_its_own(oci_api, network) -> None:
    network()
    other = network(name="other", dns_label="other", vcn_cidr="10.1.0.0/16", subnet_cidr="10.1.0.0/24")
    assert other["exit_code"] == 0 and other["changed"] is True, other
    assert other["vcn_id"] != network()["vcn_id"]
    network(name="other", dns_label="other", vcn_cidr="10.1.0.0/16", subnet_cidr="10.1.0.0/24",
            state="absent")
    assert len(oci_api.alive("vcns")) == 1


def test_a_vcn_named_like_ours_without_the_tag_is_refused(oci_api, network) -> None:
    network()
    with oci_api.state.lock:
        [vcn] = oci_api.state.resources["vcns"].values()
        vcn["freeformTags"] = {"owner": "someone"}
    refused = network()
    assert refused["exit_code"] == 1 and "has no flowspace-stack=flowspace tag" in refused["msg"]
    assert oci_api.writes() == []


def test_a_failed_write_names_what_it_was_doing(oci_api, network) -> None:
    oci_api.inject({"method": "POST", "path": "/subnets$", "status": 400, "code": "InvalidParameter",
                    "message": "bad subnet"})
    failed = network()
    assert failed["exit_code"] == 1
    assert failed["msg"].startswith("create public subnet flowspace-subnet 10.0.0.0/24: Oracle answered 400")
    assert failed["changed"] is True, "the VCN, gateway, routes and security list were made"
    assert [a.split(" ")[0] for a in failed["actions"]][:1] == ["create"]
    assert not any("subnet" in a for a in failed["actions"]), "the refused create is not an action done"


@pytest.mark.parametrize(("options", "expected"), [
    ({"vcn_cidr": "10.0.0.0"}, "vcn_cidr '10.0.0.0' is not an IPv4 CIDR block"),
    ({"subnet_cidr": "10.0.0.0/33"}, "subnet_cidr '10.0.0.0/33' is not an IPv4 CIDR block"),
    ({"vcn_cidr": "10.0.0.1/16"}, "vcn_cidr '10.0.0.1/16' is not an IPv4 CIDR block"),
    ({"subnet_cidr": "10.9.0.0/24"}, "subnet_cidr 10.9.0.0/24 is not inside vcn_cidr 10.0.0.0/16"),
    ({"dns_label": "Flow-Space"}, "dns_label 'Flow-Space' must be 1-15 lowercase letters"),
    ({"dns_label": "a234567890123456"}, "must be 1-15 lowercase letters"),
    ({"ingress_rules": [{"protocol": "6"}]}, "ingress_rules[0] needs protocol and source"),
    ({"compartment_id": "ocid1.compartment.oc1..UPPER"}, "is not an OCID"),
    ({"region": "mars-north-1"}, "region 'mars-north-1' is not an Oracle Cloud region"),
    ({"key_file": "/nonexistent/key.pem"}, "key_file '/nonexistent/key.pem' is not a readable file"),
], ids=["vcn-cidr", "subnet-prefix", "host-bits", "outside", "dns-label", "dns-label-long", "rule", "ocid",
        "region", "key"])
def test_bad_input_is_refused_before_any_request(oci_api, network, options, expected) -> None:
    refused = network(**options)
    assert refused["exit_code"] == 1 and expected in refused["msg"], refused
    assert oci_api.requests() == []


@pytest.mark.parametrize(("method", "path", "doing"), [
    ("GET", "/vcns$", "find the VCN"),
    ("GET", "/subnets$", "find flowspace-subnet"),
    ("GET", "/securityLists$", "find flowspace-security"),
    ("GET", "/routeTables$", "find flowspace-routes"),
    ("GET", "/internetGateways$", "find flowspace-igw"),
    ("DELETE", "/subnets/", "delete flowspace-subnet"),
    ("DELETE", "/vcns/", "delete flowspace-vcn"),
    ("GET", "/securityLists/ocid", "wait for flowspace-security to go"),
])
def test_each_failed_teardown_step_is_named_whole(oci_api, network, method, path, doing) -> None:
    assert network()["exit_code"] == 0
    oci_api.inject({"method": method, "path": path, "status": 409, "code": "Conflict", "message": "busy"})
    failed = network(state="absent")
    assert failed["exit_code"] == 1, failed
    assert failed["msg"].startswith(doing) and failed["msg"].endswith(": Oracle answered 409 Conflict: busy")
    assert (failed["status"], failed["code"]) == (409, "Conflict")
    deleted = [r["path"].split("/")[-1] for r in oci_api.writes() if r["method"] == "DELETE"
               and r["status"] == 204]
    assert failed["changed"] is bool(deleted), deleted
    assert [a.split("(")[-1].rstrip(")") for a in failed["actions"]] == deleted


def test_the_config_file_comes_from_oci_config_file_when_not_given(
        oci_api, network, tmp_path, monkeypatch) -> None:
    """A CI runner writes its config from secrets and names it in OCI_CONFIG_FILE (and the profile
    in OCI_CONFIG_PROFILE); the option, when given, still wins."""
    connection = oci_api.connection()
    config = tmp_path / "ci-config"
    config.write_text(f"[CI]\nuser={connection['user']}\nfingerprint={connection['fingerprint']}\n"
                      f"tenancy={connection['tenancy']}\nregion={connection['region']}\n"
                      f"key_file={connection['key_file']}\n")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config))
    monkeypatch.setenv("OCI_CONFIG_PROFILE", "CI")
    without_key = {"tenancy": None, "user": None, "fingerprint": None, "key_file": None}
    made = network(**without_key)
    assert made["exit_code"] == 0 and made["changed"], made
    refused = network(config_file=str(tmp_path / "absent"), **without_key)
    assert refused["exit_code"] == 1 and f"no OCI config at {tmp_path / 'absent'}" in refused["msg"], refused
