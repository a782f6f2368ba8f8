"""Oracle Cloud security-list rules from the stack's port model."""

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.ports import port_declaration_errors
from ansible_collections.flowspace.infra.plugins.module_utils.cidr import is_cidr_block

DOCUMENTATION = r"""
name: oci_ingress_rules
short_description: OCI security-list ingress rules for SSH and the declared public ports
description:
  - Returns IngressSecurityRule objects (camelCase, as the OCI API and
    C(oci network security-list update --ingress-security-rules) take) for SSH and each declared
    port or range, stateful, from each O(source); plus the "too big" ICMP messages path MTU
    discovery needs (ICMP type 3 code 4, which Oracle's default security list also allows, and
    ICMPv6 type 2 for IPv6 sources).
positional: _input, ssh_port, source
options:
  _input:
    description: Port declarations (C(port), optional C(port_end), C(protocol), C(purpose)).
    type: list
    elements: dict
    required: true
  ssh_port:
    description: The SSH port.
    type: int
    default: 22
  source:
    description: Source CIDR of every rule, or a list of them (e.g. C([0.0.0.0/0, ::/0]) with IPv6).
    type: raw
    default: 0.0.0.0/0
"""

PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17"}


def oci_ingress_rules(ports, ssh_port=22, source="0.0.0.0/0"):
    errors = port_declaration_errors(ports)
    sources = [source] if isinstance(source, str) else list(source)
    errors += [f"source {s!r} is not a CIDR block" for s in sources if not is_cidr_block(s)]
    if errors:
        raise AnsibleFilterError("oci_ingress_rules: " + "; ".join(errors))
    declared = [{"port": int(ssh_port), "protocol": "tcp", "purpose": "SSH"}, *ports]
    rules = []
    for cidr in sources:
        for entry in sorted(declared, key=lambda e: (e["protocol"], e["port"])):
            last = entry.get("port_end") or entry["port"]
            options = {"destinationPortRange": {"min": entry["port"], "max": last}}
            rules.append(rule(entry["purpose"], PROTOCOL_NUMBERS[entry["protocol"]], cidr,
                              **{f"{entry['protocol']}Options": options}))
        rules.append(too_big_rule(cidr))
    return rules


def oci_private_ingress_rules(ports, cidr):
    """One stateful rule per distinct internal port (or range) of `ports` (the stack's ports
    between its hosts), from the private subnet `cidr` alone; each host's firewall narrows it
    to the hosts that use it."""
    declared = {(entry["protocol"], entry["port"], entry.get("port_end") or entry["port"], entry["purpose"])
                for entry in ports}
    errors = port_declaration_errors([{"protocol": p, "port": first, "port_end": last, "purpose": purpose}
                                      for p, first, last, purpose in declared])
    if not is_cidr_block(cidr):
        errors.append(f"cidr {cidr!r} is not a CIDR block")
    if errors:
        raise AnsibleFilterError("oci_private_ingress_rules: " + "; ".join(errors))
    return [rule(purpose, PROTOCOL_NUMBERS[protocol], cidr,
                 **{f"{protocol}Options": {"destinationPortRange": {"min": first, "max": last}}})
            for protocol, first, last, purpose in sorted(declared)]


def rule(description, protocol, source, **options):
    return {"description": description, "isStateless": False, "protocol": protocol,
            "source": source, "sourceType": "CIDR_BLOCK", **options}


def too_big_rule(cidr):
    """Path MTU discovery: without these replies, large packets over a smaller link just vanish."""
    if ipaddress.ip_network(cidr, strict=False).version == 6:
        return rule("ICMPv6 packet too big (path MTU discovery)", "58", cidr, icmpOptions={"type": 2})
    return rule("ICMP fragmentation needed (path MTU discovery)", "1", cidr,
                icmpOptions={"type": 3, "code": 4})


class FilterModule:
    def filters(self):
        return {"oci_ingress_rules": oci_ingress_rules,
                "oci_private_ingress_rules": oci_private_ingress_rules}
