"""Oracle Cloud security-list rules from the stack's port model."""

from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.ports import port_declaration_errors

DOCUMENTATION = r"""
name: oci_ingress_rules
short_description: OCI security-list ingress rules for SSH and the declared public ports
description:
  - Returns IngressSecurityRule objects (camelCase, as the OCI API and
    C(oci network security-list update --ingress-security-rules) take) for SSH and each declared
    port or range, stateful, from O(source); plus ICMP type 3 code 4 (path MTU discovery), which
    Oracle's default security list also allows.
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
    description: Source CIDR of every rule.
    type: str
    default: 0.0.0.0/0
"""

PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17"}


def oci_ingress_rules(ports, ssh_port=22, source="0.0.0.0/0"):
    errors = port_declaration_errors(ports)
    if errors:
        raise AnsibleFilterError("oci_ingress_rules: " + "; ".join(errors))
    declared = [{"port": int(ssh_port), "protocol": "tcp", "purpose": "SSH"}, *ports]
    rules = []
    for entry in sorted(declared, key=lambda e: (e["protocol"], e["port"])):
        last = entry.get("port_end") or entry["port"]
        options = {"destinationPortRange": {"min": entry["port"], "max": last}}
        rules.append({
            "description": entry["purpose"],
            "isStateless": False,
            "protocol": PROTOCOL_NUMBERS[entry["protocol"]],
            "source": source,
            "sourceType": "CIDR_BLOCK",
            f"{entry['protocol']}Options": options,
        })
    rules.append({"description": "ICMP fragmentation needed (path MTU discovery)", "isStateless": False,
                  "protocol": "1", "source": source, "sourceType": "CIDR_BLOCK",
                  "icmpOptions": {"type": 3, "code": 4}})
    return rules


class FilterModule:
    def filters(self):
        return {"oci_ingress_rules": oci_ingress_rules}
