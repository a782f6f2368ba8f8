"""oci_network through ansible-playbook against the OCI API emulator (signed requests checked
with the test's API key): what it creates, that a re-run writes nothing, drift on the
security list, teardown of exactly what it made, and input refused before any request."""

import ipaddress
import json

import oci
import oci_stand_in
import pytest

from ansible_run import local_inventory, run_playbook
from firewall_rules import security_list_opened

PLAYBOOK = "tests/playbooks/oci_network.yml"
TASK = "Network"
# The stack's public ports as the roles declare them (caddy, livekit); SSH is added by the filter.
PORTS = [
    {"port": 80, "protocol": "tcp", "purpose": "ACME HTTP-01 and redirects"},
    {"port": 443, "protocol": "tcp", "purpose": "HTTPS"},
    {"port": 443, "protocol": "udp", "purpose": "HTTP/3"},
    {"port": 7881, "protocol": "tcp", "purpose": "LiveKit WebRTC over TCP"},
    {"port": 50000, "port_end": 60000, "protocol": "udp", "purpose": "LiveKit WebRTC media"},
    {"port": 3478, "protocol": "udp", "purpose": "LiveKit TURN"},
]
CREATES = [
    "/20160918/vcns",
    "/20160918/internetGateways",
    "/20160918/routeTables",
    "/20160918/securityLists",
    "/20160918/subnets",
]


class Network:
    def __init__(self, stand_in, tmp_path):
        self.oci, self.tmp_path = stand_in, tmp_path
        self.inventory = local_inventory(tmp_path / "hosts.json")

    def run(self, *args, **extra):
        extra_file = self.tmp_path / "extra.json"
        extra_file.write_text(json.dumps({**self.oci.settings(), "oci_ports": PORTS, **extra}))
        self.oci.clear_requests()
        return run_playbook(self.inventory, PLAYBOOK, "-e", f"@{extra_file}", *args, timeout=180)

    def sdk(self):
        config = self.oci.sdk_config()
        return oci.core.VirtualNetworkClient(config, service_endpoint=self.oci.url)

    def live(self, kind):
        return [r for r in self.oci.state()[kind] if r["lifecycleState"] not in ("TERMINATING", "TERMINATED")]


@pytest.fixture
def network(tmp_path):
    stand_in = oci_stand_in.start(tmp_path)
    yield Network(stand_in, tmp_path)
    stand_in.server.shutdown()


def test_first_run_creates_the_network_and_a_rerun_writes_nothing(network) -> None:
    first = network.run()
    assert first.returncode == 0, first.output[-3000:]
    assert [(w["method"], w["path"]) for w in network.oci.writes()] == [("POST", path) for path in CREATES]
    result = first.result(TASK)
    assert result["changed"] is True and result["vcn_id"].startswith("ocid1.vcn.")
    subnet = next(s for s in network.live("subnets") if s["id"] == result["subnet_id"])
    assert subnet["securityListIds"] == [result["security_list_id"]]
    assert subnet["routeTableId"] == result["route_table_id"] and subnet["prohibitPublicIpOnVnic"] is False
    routes = next(r for r in network.live("routeTables") if r["id"] == result["route_table_id"])
    assert [(r["destination"], r["networkEntityId"]) for r in routes["routeRules"]] == [
        ("0.0.0.0/0", result["internet_gateway_id"])
    ]
    for kind in ("vcns", "internetGateways", "subnets"):
        assert all(r["freeformTags"] == {"flowspace-stack": "flowspace"} for r in network.live(kind)), kind

    again = network.run()
    assert again.returncode == 0, again.output[-3000:]
    assert again.unchanged()
    assert network.oci.writes() == []
    assert {r["method"] for r in network.oci.requests()} == {"GET"}


def test_the_security_list_opens_exactly_the_declared_ports(network) -> None:
    run = network.run()
    assert run.returncode == 0, run.output[-3000:]
    rules = next(s for s in network.live("securityLists") if s["id"] == run.result(TASK)["security_list_id"])
    opened = sorted(
        (
            r["protocol"],
            (r.get("tcpOptions") or r.get("udpOptions") or {}).get("destinationPortRange", {}).get("min"),
            (r.get("tcpOptions") or r.get("udpOptions") or {}).get("destinationPortRange", {}).get("max"),
        )
        for r in rules["ingressSecurityRules"]
        if r["protocol"] in ("6", "17")
    )
    declared = sorted(
        [("6", 22, 22)]
        + [({"tcp": "6", "udp": "17"}[p["protocol"]], p["port"], p.get("port_end", p["port"])) for p in PORTS]
    )
    assert opened == declared
    assert [r["destination"] for r in rules["egressSecurityRules"]] == ["0.0.0.0/0"]


def add_rule_by_hand(network, security_list_id, port):
    vn = network.sdk()
    current = vn.get_security_list(security_list_id).data
    rules = [
        *current.ingress_security_rules,
        oci.core.models.IngressSecurityRule(
            protocol="6",
            source="0.0.0.0/0",
            tcp_options=oci.core.models.TcpOptions(
                destination_port_range=oci.core.models.PortRange(min=port, max=port)
            ),
        ),
    ]
    vn.update_security_list(
        security_list_id, oci.core.models.UpdateSecurityListDetails(ingress_security_rules=rules)
    )


def ports_of(network, security_list_id):
    rules = next(s for s in network.live("securityLists") if s["id"] == security_list_id)[
        "ingressSecurityRules"
    ]
    return {r["tcpOptions"]["destinationPortRange"]["min"] for r in rules if r.get("tcpOptions")}


def test_a_rule_added_by_hand_is_reported_then_removed_or_kept(network) -> None:
    first = network.run()
    security_list_id = first.result(TASK)["security_list_id"]
    add_rule_by_hand(network, security_list_id, 3306)

    check = network.run("--check", "--diff")
    assert check.returncode == 0, check.output[-3000:]
    assert check.result(TASK)["changed"] is True and network.oci.writes() == []
    assert check.result(TASK)["unmanaged_rules"] == ["tcp 3306 from 0.0.0.0/0"]

    kept = network.run(oci_unmanaged_rules="keep")
    assert kept.unchanged() and 3306 in ports_of(network, security_list_id)
    assert kept.result(TASK)["unmanaged_rules"] == ["tcp 3306 from 0.0.0.0/0"]

    healed = network.run()
    assert healed.returncode == 0 and healed.result(TASK)["changed"] is True
    assert [(w["method"], w["path"]) for w in network.oci.writes()] == [
        ("PUT", f"/20160918/securityLists/{security_list_id}")
    ]
    assert 3306 not in ports_of(network, security_list_id) and 443 in ports_of(network, security_list_id)
    assert network.run().unchanged()


def test_check_mode_on_an_empty_compartment_plans_everything_and_writes_nothing(network) -> None:
    check = network.run("--check")
    assert check.returncode == 0, check.output[-3000:]
    actions = check.result(TASK)["actions"]
    assert [a.split()[1] for a in actions] == ["VCN", "internet", "route", "security", "public"]
    assert network.oci.writes() == [] and network.live("vcns") == []


def test_teardown_removes_exactly_what_it_made(network) -> None:
    assert network.run().returncode == 0
    vn = network.sdk()
    compartment = network.oci.settings()["oci_compartment_id"]
    other = vn.create_vcn(
        oci.core.models.CreateVcnDetails(
            compartment_id=compartment, cidr_blocks=["172.16.0.0/16"], display_name="someone-elses"
        )
    ).data
    gone = network.run(oci_state="absent")
    assert gone.returncode == 0, gone.output[-3000:]
    deleted = [w["path"].split("/")[2] for w in network.oci.writes() if w["method"] == "DELETE"]
    assert deleted == ["subnets", "securityLists", "routeTables", "internetGateways", "vcns"]
    assert [v["id"] for v in network.live("vcns")] == [other.id]
    assert network.run(oci_state="absent").unchanged()


def test_a_resource_with_the_name_but_not_the_tag_is_refused(network) -> None:
    vn = network.sdk()
    vn.create_vcn(
        oci.core.models.CreateVcnDetails(
            compartment_id=network.oci.settings()["oci_compartment_id"],
            cidr_blocks=["10.0.0.0/16"],
            display_name="flowspace-vcn",
        )
    )
    run = network.run()
    assert run.returncode != 0
    assert "has no flowspace-stack=flowspace tag" in run.output
    assert network.oci.writes() == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"oci_compartment_id": "ocid1.compartment.oc1..UPPER"},
            "compartment_id 'ocid1.compartment.oc1..UPPER' is not an OCID",
        ),
        ({"oci_region": "mars-north-1"}, "region 'mars-north-1' is not an Oracle Cloud region"),
        ({"oci_key_file": "/nonexistent/key.pem"}, "key_file '/nonexistent/key.pem' is not a readable file"),
        ({"oci_fingerprint": "aa:bb"}, "is not an API key fingerprint"),
        ({"oci_ports": [{"port": 70000, "protocol": "tcp", "purpose": "bad"}]}, "oci_ingress_rules"),
    ],
    ids=["malformed OCID", "unknown region", "missing key file", "bad fingerprint", "bad port"],
)
def test_bad_input_is_refused_before_any_request(network, change, expected) -> None:
    run = network.run(**change)
    assert run.returncode != 0
    assert expected in run.output, run.output[-2000:]
    assert network.oci.requests() == []


def test_a_wrong_api_key_is_explained(network, tmp_path) -> None:
    (tmp_path / "other").mkdir()
    other = oci_stand_in.start(tmp_path / "other")
    try:
        run = network.run(oci_key_file=str(other.key_file), oci_fingerprint=other.fingerprint)
        assert run.returncode != 0
        assert (
            "401 NotAuthenticated" in run.output and "check the user, fingerprint and key file" in run.output
        )
    finally:
        other.server.shutdown()


def test_ipv6_gives_the_subnet_a_block_of_the_vcn_and_opens_the_same_ports_to_it(network) -> None:
    first = network.run(oci_ipv6=True)
    assert first.returncode == 0, first.output[-3000:]
    result = first.result(TASK)
    [vcn] = network.live("vcns")
    [vcn_block] = vcn["ipv6CidrBlocks"]
    subnet = next(s for s in network.live("subnets") if s["id"] == result["subnet_id"])
    assert subnet["ipv6CidrBlock"] == result["subnet_ipv6_cidr"]
    assert ipaddress.ip_network(subnet["ipv6CidrBlock"]).subnet_of(ipaddress.ip_network(vcn_block))
    assert ipaddress.ip_network(subnet["ipv6CidrBlock"]).prefixlen == 64
    routes = next(r for r in network.live("routeTables") if r["id"] == result["route_table_id"])
    assert sorted(r["destination"] for r in routes["routeRules"]) == ["0.0.0.0/0", "::/0"]
    rules = next(s for s in network.live("securityLists") if s["id"] == result["security_list_id"])
    by_source = {
        source: security_list_opened([r for r in rules["ingressSecurityRules"] if r["source"] == source])
        for source in ("0.0.0.0/0", "::/0")
    }
    assert by_source["::/0"] == by_source["0.0.0.0/0"] and ("tcp", 22, 22) in by_source["::/0"]
    assert {(r["protocol"], r["source"]) for r in rules["ingressSecurityRules"] if "icmpOptions" in r} == {
        ("1", "0.0.0.0/0"),
        ("58", "::/0"),
    }
    assert sorted(r["destination"] for r in rules["egressSecurityRules"]) == ["0.0.0.0/0", "::/0"]

    again = network.run(oci_ipv6=True)
    assert again.returncode == 0, again.output[-3000:]
    assert network.oci.writes() == []

    switched = network.run(oci_ipv6=False)
    assert switched.returncode != 0 and "was made with ipv6=True" in switched.output
    assert network.oci.writes() == []


@pytest.mark.parametrize("drift", [
    {"protocol": "6"},                       # narrowed to TCP: DNS over UDP and NTP stop
    {"is_stateless": True},                  # stateless: replies need rules of their own
    {"destination": "10.0.0.0/8"},           # only the private network
], ids=["protocol", "stateless", "destination"])
def test_a_drifted_egress_rule_is_reported_then_healed(network, drift) -> None:
    first = network.run()
    security_list_id = first.result(TASK)["security_list_id"]
    vn = network.sdk()
    current = vn.get_security_list(security_list_id).data
    rule = {"protocol": "all", "destination": "0.0.0.0/0", "destination_type": "CIDR_BLOCK",
            "is_stateless": False, **drift}
    vn.update_security_list(security_list_id, oci.core.models.UpdateSecurityListDetails(
        ingress_security_rules=current.ingress_security_rules,
        egress_security_rules=[oci.core.models.EgressSecurityRule(**rule)]))

    check = network.run("--check")
    assert check.returncode == 0 and check.result(TASK)["changed"] is True
    assert network.oci.writes() == []
    healed = network.run()
    assert healed.returncode == 0 and healed.result(TASK)["changed"] is True
    listed = next(s for s in network.live("securityLists") if s["id"] == security_list_id)
    [egress] = listed["egressSecurityRules"]
    assert (egress["protocol"], egress["destination"], egress.get("isStateless")) == (
        "all", "0.0.0.0/0", False)
    assert network.run().unchanged()
