"""Read the ports an iptables ruleset opens and the ports an OCI security list allows, in one
comparable form: {(protocol, first port, last port)}."""

import re

ACCEPT = re.compile(r"^-A INPUT -p (tcp|udp) .*--dport (\d+)(?::(\d+))? .*-j ACCEPT$")
PROTOCOLS = {"6": "tcp", "17": "udp"}


def iptables_opened(rules: str) -> set[tuple[str, int, int]]:
    opened = set()
    for line in rules.splitlines():
        match = ACCEPT.match(line.strip())
        if match:
            protocol, first, last = match.groups()
            opened.add((protocol, int(first), int(last or first)))
    return opened


def security_list_opened(rules: list[dict]) -> set[tuple[str, int, int]]:
    opened = set()
    for rule in rules:
        if rule["protocol"] in PROTOCOLS:
            options = rule.get("tcpOptions") or rule.get("udpOptions")
            port_range = options["destinationPortRange"]
            opened.add((PROTOCOLS[rule["protocol"]], port_range["min"], port_range["max"]))
    return opened
