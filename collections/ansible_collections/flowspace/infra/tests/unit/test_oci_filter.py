"""oci_ingress_rules: the security list opens SSH and exactly the declared ports."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.oci import (
    oci_ingress_rules,
    oci_private_ingress_rules,
)

PORTS = [
    {"port": 443, "protocol": "udp", "purpose": "HTTP/3"},
    {"port": 50000, "port_end": 60000, "protocol": "udp", "purpose": "ICE"},
    {"port": 443, "protocol": "tcp", "purpose": "HTTPS"},
]


def port_range(rule: dict) -> tuple:
    options = rule.get("tcpOptions") or rule.get("udpOptions")
    return rule["protocol"], options["destinationPortRange"]["min"], options["destinationPortRange"]["max"]


def test_rules_have_the_oci_api_shape() -> None:
    rules = oci_ingress_rules(PORTS, 2222, "10.0.0.0/8")
    assert rules[0] == {"description": "HTTPS", "isStateless": False, "protocol": "6", "source": "10.0.0.0/8",
                        "sourceType": "CIDR_BLOCK",
                        "tcpOptions": {"destinationPortRange": {"min": 443, "max": 443}}}
    assert [port_range(rule) for rule in rules[:-1]] == [
        ("6", 443, 443), ("6", 2222, 2222), ("17", 443, 443), ("17", 50000, 60000)]
    assert rules[-1]["protocol"] == "1" and rules[-1]["icmpOptions"] == {"type": 3, "code": 4}


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="port must be an integer"):
        oci_ingress_rules([{"port": 0, "protocol": "tcp", "purpose": "zero"}])


def test_each_source_gets_every_port_and_its_own_path_mtu_rule() -> None:
    rules = oci_ingress_rules(PORTS, 22, ["0.0.0.0/0", "::/0"])
    for source in ("0.0.0.0/0", "::/0"):
        ports = sorted(port_range(r) for r in rules if r["source"] == source and "icmpOptions" not in r)
        assert ports == sorted([("6", 22, 22), ("6", 443, 443), ("17", 443, 443), ("17", 50000, 60000)])
    assert [(r["protocol"], r["source"], r["icmpOptions"]) for r in rules if "icmpOptions" in r] == [
        ("1", "0.0.0.0/0", {"type": 3, "code": 4}), ("58", "::/0", {"type": 2})]


def test_a_source_that_is_not_a_cidr_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="source 'anywhere' is not a CIDR block"):
        oci_ingress_rules(PORTS, 22, ["0.0.0.0/0", "anywhere"])


def test_private_rules_open_each_internal_port_once_to_the_subnet() -> None:
    socket = {"port": 3001, "port_end": 3002, "protocol": "tcp", "purpose": "Socket.io from the edge",
              "clients": ["edge"]}
    redis = {"port": 6379, "protocol": "tcp", "purpose": "Redis from its clients", "clients": ["a", "b"]}
    internal = [socket, socket, redis]  # two hosts declare the socket port
    rules = oci_private_ingress_rules(internal, "10.0.0.0/24")
    assert [(r["source"], r["tcpOptions"]["destinationPortRange"]) for r in rules] == [
        ("10.0.0.0/24", {"min": 3001, "max": 3002}), ("10.0.0.0/24", {"min": 6379, "max": 6379})]
    assert oci_private_ingress_rules([], "10.0.0.0/24") == []
    with pytest.raises(AnsibleFilterError, match="cidr 'subnet' is not a CIDR block"):
        oci_private_ingress_rules(internal, "subnet")


def test_a_private_rule_whole_and_its_refusal_whole() -> None:
    udp = {"port": 7882, "protocol": "udp", "purpose": "LiveKit media between nodes", "clients": ["edge"]}
    assert oci_private_ingress_rules([udp], "10.0.0.0/24") == [
        {"description": "LiveKit media between nodes", "isStateless": False, "protocol": "17",
         "source": "10.0.0.0/24", "sourceType": "CIDR_BLOCK",
         "udpOptions": {"destinationPortRange": {"min": 7882, "max": 7882}}}]
    with pytest.raises(AnsibleFilterError) as refused:
        oci_private_ingress_rules([{**udp, "port": 0}], "subnet")
    assert str(refused.value).startswith("oci_private_ingress_rules: ")
    said = str(refused.value)
    assert said.count("; ") == 2 and said.endswith("; cidr 'subnet' is not a CIDR block")


def test_ssh_is_port_22_from_everywhere_by_default_and_path_mtu_rules_are_named() -> None:
    rules = oci_ingress_rules([])
    assert [(r["description"], r["protocol"], r["source"]) for r in rules] == [
        ("SSH", "6", "0.0.0.0/0"), ("ICMP fragmentation needed (path MTU discovery)", "1", "0.0.0.0/0")]
    assert port_range(rules[0]) == ("6", 22, 22)
    v6 = oci_ingress_rules([], 22, ["::/0"])
    assert v6[-1] == {"description": "ICMPv6 packet too big (path MTU discovery)", "isStateless": False,
                      "protocol": "58", "source": "::/0", "sourceType": "CIDR_BLOCK",
                      "icmpOptions": {"type": 2}}


def test_a_refusal_lists_every_problem() -> None:
    with pytest.raises(AnsibleFilterError) as refused:
        oci_ingress_rules([{"port": 0, "protocol": "tcp", "purpose": "zero"},
                           {"port": 1, "protocol": "icmp", "purpose": "one"}])
    assert str(refused.value) == (
        "oci_ingress_rules: entry 0 (tcp/0) for zero: port must be an integer from 1 to 65535, got 0; "
        "entry 1 (icmp/1) for one: protocol must be tcp or udp, got 'icmp'")
