"""oci_ingress_rules: the security list opens SSH and exactly the declared ports."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.oci import oci_ingress_rules

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
