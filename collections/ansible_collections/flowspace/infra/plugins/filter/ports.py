"""Filters for the stack's port model: the public ports roles declare for the firewall.

A declaration is a dict: port (int), optional port_end (int, inclusive), protocol (tcp|udp),
purpose (short text shown in firewall rule comments), and for a port between the stack's own
hosts, sources (the IPv4 addresses or networks allowed in).
"""

import ipaddress
import re

DOCUMENTATION = r"""
name: port_declaration_errors
short_description: What is wrong with a list of public port declarations
description:
  - Returns one message per problem (bad port numbers, reversed ranges, unknown protocols,
    unsafe purposes, overlapping declarations); an empty list means the declarations are valid.
positional: _input
options:
  _input:
    description: The declarations (C(port), C(port_end), C(protocol), C(purpose), optional C(sources)).
    type: list
    elements: dict
    required: true
"""

PURPOSE = re.compile(r"^[A-Za-z0-9 ._:/-]{1,60}$")
PROTOCOLS = ("tcp", "udp")


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _describe(entry):
    return f"{entry.get('protocol')}/{entry.get('port')}" + (
        f"-{entry['port_end']}" if entry.get("port_end") is not None else ""
    )


def _where(index, entry):
    """How an error names the entry: its index, protocol/port and, when given, its purpose."""
    if not isinstance(entry, dict):
        return f"entry {index} ({entry!r})"
    purpose = entry.get("purpose")
    named = f" for {purpose[:60]}" if isinstance(purpose, str) else ""
    return f"entry {index} ({_describe(entry)}){named}"


def port_declaration_errors(declarations):
    if not isinstance(declarations, list):
        return [f"must be a list of port declarations, got {type(declarations).__name__}"]
    errors = []
    spans = []
    for index, entry in enumerate(declarations):
        where = _where(index, entry)
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a dict with port, protocol and purpose")
            continue
        unknown = sorted(set(entry) - {"port", "port_end", "protocol", "purpose", "sources"})
        if unknown:
            errors.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        port, end = entry.get("port"), entry.get("port_end")
        if not _is_port(port):
            errors.append(f"{where}: port must be an integer from 1 to 65535, got {port!r}")
        if end is not None and not _is_port(end):
            errors.append(f"{where}: port_end must be an integer from 1 to 65535, got {end!r}")
        elif end is not None and _is_port(port) and end < port:
            errors.append(f"{where}: port_end {end} is below port {port}")
        if entry.get("protocol") not in PROTOCOLS:
            errors.append(f"{where}: protocol must be tcp or udp, got {entry.get('protocol')!r}")
        if not isinstance(entry.get("purpose"), str) or not PURPOSE.match(entry["purpose"]):
            errors.append(
                f"{where}: purpose must be 1-60 letters, digits, spaces or .:/_-, "
                f"got {entry.get('purpose')!r}"
            )
        # A public port (no sources) is open to everyone.
        errors += [f"{where}: {problem}" for problem in _source_errors(entry.get("sources", ["0.0.0.0/0"]))]
        if _is_port(port) and (end is None or _is_port(end)) and entry.get("protocol") in PROTOCOLS:
            spans.append((entry["protocol"], port, end or port, where))
    spans.sort()
    for (proto_a, _start_a, end_a, where_a), (proto_b, start_b, _end_b, where_b) in zip(
        spans, spans[1:], strict=False
    ):
        if proto_a == proto_b and start_b <= end_a:
            errors.append(f"{where_a} and {where_b} overlap")
    return errors


def _source_errors(sources):
    if not isinstance(sources, list) or not sources:
        return [f"sources must be a non-empty list of IPv4 addresses or networks, got {sources!r}"]
    errors = []
    for source in sources:
        try:
            ipaddress.IPv4Network(str(source), strict=True)
        except ValueError:
            errors.append(f"source {source!r} is not an IPv4 address or network")
    return errors


class FilterModule:
    def filters(self):
        return {"port_declaration_errors": port_declaration_errors}
