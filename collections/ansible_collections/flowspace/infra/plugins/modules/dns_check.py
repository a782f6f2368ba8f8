#!/usr/bin/python
"""Check that public names resolve to the edge, as the ACME CA will see them."""

DOCUMENTATION = r"""
module: dns_check
short_description: Check that names resolve to the given addresses through the given resolvers
description:
  - Asks each resolver for the A and AAAA records of each name (CNAMEs followed) and compares
    the answers with O(addresses). A name is right when its A records are exactly the IPv4
    addresses given and its AAAA records are exactly the IPv6 ones given (none when none is
    given; an AAAA record pointing elsewhere makes a CA validate there, since it prefers IPv6).
  - The site play runs it before Caddy is given a name, through the resolvers the CA uses, so a
    missing or stale record never costs a failed ACME validation (Let's Encrypt allows 5 an
    hour per name) and the sites already served keep serving.
  - Fails, naming each wrong name, what it resolves to through which resolver, and what it must
    resolve to. With O(wait), asks again every O(interval) seconds until all are right or the
    time is up (new records take a TTL to reach caching resolvers).
  - Only reads; runs on the controller.
version_added: 0.4.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.read_only]
requirements: [dnspython]
options:
  names:
    description: The names that must resolve to O(addresses).
    type: list
    elements: str
    required: true
  addresses:
    description: The addresses they must resolve to (IPv4 and IPv6).
    type: list
    elements: str
    required: true
  resolvers:
    description:
      - The resolvers to ask, as C(address) or C(address:port) (C([address]:port) for IPv6).
      - Every resolver must give the right answer; one that does not answer at all is reported
        as a warning as long as another one does.
    type: list
    elements: str
    default: [1.1.1.1, 8.8.8.8, 9.9.9.9]
  timeout:
    description: Seconds to wait for one resolver's answer.
    type: float
    default: 5
  wait:
    description: Seconds to keep asking while some name is wrong (0 asks once).
    type: int
    default: 0
  interval:
    description: Seconds between two rounds of questions while waiting.
    type: float
    default: 10
"""

EXAMPLES = r"""
- name: Check that the stack's names resolve to the edge
  flowspace.infra.dns_check:
    names: [socket.example.com, rtc.example.com]
    addresses: [203.0.113.10]
  delegate_to: localhost
"""

RETURN = r"""
resolved:
  description: What each name resolves to, by resolver (C(A) and C(AAAA) lists, or C(error)).
  returned: always
  type: dict
  sample: {"socket.example.com": {"1.1.1.1": {"A": ["203.0.113.10"], "AAAA": []}}}
wrong:
  description: One line for each name that does not resolve to O(addresses).
  returned: always
  type: list
  elements: str
"""

import ipaddress
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import dns.exception
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON, DNSPYTHON_ERROR = False, traceback.format_exc()
else:
    HAS_DNSPYTHON, DNSPYTHON_ERROR = True, None

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error


def parse_resolver(text):
    """(address, port) of `address`, `address:port` or `[address]:port`; ValueError if neither."""
    text = text.strip()
    if text.startswith("["):
        address, _bracket, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("53" if not rest else "bad")
    elif text.count(":") == 1:
        address, port = text.split(":")
    else:
        address, port = text, "53"
    ipaddress.ip_address(address)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return address, int(port)


def input_errors(params):
    errors = [f"names: {name!r}: {dns_name_error(name)}" for name in params["names"] if dns_name_error(name)]
    if not params["names"]:
        errors.append("names is empty")
    for value in params["addresses"]:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            errors.append(f"addresses: {value!r} is not an IP address")
    if not params["addresses"]:
        errors.append("addresses is empty (the edge has no public address?)")
    for value in params["resolvers"]:
        try:
            parse_resolver(value)
        except ValueError:
            errors.append(f"resolvers: {value!r} is not an address or address:port")
    if not params["resolvers"]:
        errors.append("resolvers is empty")
    return errors


def ask(resolver, name, kind):
    """The sorted addresses of NAME's KIND records through RESOLVER ([] when there are none)."""
    try:
        answer = resolver.resolve(name, kind, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return sorted(str(ipaddress.ip_address(record.address)) for record in answer)


def resolve_all(names, resolvers, timeout):
    """{name: {resolver text: {"A": [...], "AAAA": [...]} or {"error": text}}}."""
    resolved = {}
    for text in resolvers:
        address, port = parse_resolver(text)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = [address], port
        resolver.timeout = resolver.lifetime = timeout
        resolver.cache = None
        for name in names:
            try:
                found = {"A": ask(resolver, name, "A"), "AAAA": ask(resolver, name, "AAAA")}
            except dns.exception.DNSException as error:
                found = {"error": f"{type(error).__name__}: {error}"}
            resolved.setdefault(name, {})[text] = found
    return resolved


def wrong_names(resolved, addresses):
    """(lines for each name not resolving to ADDRESSES, warnings for resolvers that did not answer)."""
    expected = {"A": sorted(a for a in addresses if ipaddress.ip_address(a).version == 4),
                "AAAA": sorted(a for a in addresses if ipaddress.ip_address(a).version == 6)}
    must = " and ".join(", ".join(expected[kind]) for kind in ("A", "AAAA") if expected[kind])
    wrong, warnings = [], []
    for name, answers in resolved.items():
        answered = {text: found for text, found in answers.items() if "error" not in found}
        warnings.extend(f"{text} did not answer for {name} ({found['error']})"
                        for text, found in answers.items() if "error" in found)
        if not answered:
            wrong.append(f"{name}: no resolver answered ({', '.join(answers)})")
            continue
        for text, found in answered.items():
            if found == expected:
                continue
            got = "; ".join(f"{kind} {', '.join(found[kind])}" for kind in ("A", "AAAA") if found[kind])
            wrong.append(f"{name} resolves to {got or 'nothing (no A or AAAA record)'} through {text}; "
                         f"it must resolve to {must} (the edge)")
    return wrong, warnings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            addresses=dict(type="list", elements="str", required=True),
            resolvers=dict(type="list", elements="str", default=["1.1.1.1", "8.8.8.8", "9.9.9.9"]),
            timeout=dict(type="float", default=5),
            wait=dict(type="int", default=0),
            interval=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_ERROR)
    params = module.params
    errors = input_errors(params)
    if errors:
        module.fail_json(msg="dns_check: " + "; ".join(errors), changed=False)
    names = [name.lower().rstrip(".") for name in params["names"]]
    addresses = sorted({str(ipaddress.ip_address(a)) for a in params["addresses"]})
    deadline = time.monotonic() + params["wait"]
    while True:
        resolved = resolve_all(names, params["resolvers"], params["timeout"])
        wrong, warnings = wrong_names(resolved, addresses)
        if not wrong or time.monotonic() + params["interval"] > deadline:
            break
        time.sleep(params["interval"])
    for warning in warnings:
        module.warn(warning)
    if wrong:
        waited = f" (asked again for {params['wait']} s)" if params["wait"] else ""
        summary = f"not every name resolves to {', '.join(addresses)}{waited}: "
        module.fail_json(msg=summary + "; ".join(wrong), resolved=resolved, wrong=wrong, changed=False)
    module.exit_json(changed=False, resolved=resolved, wrong=[])


if __name__ == "__main__":
    main()
