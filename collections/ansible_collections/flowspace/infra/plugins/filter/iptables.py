"""Filters that compare iptables rule sets the way iptables-save prints them."""

import re

from ansible_collections.flowspace.infra.plugins.module_utils.sections import split_sections

DOCUMENTATION = r"""
name: iptables_normalize
short_description: An iptables-save text as a comparable list of lines
description:
  - Drops comments and blank lines and zeroes the packet/byte counters, so a rule file and the
    output of C(iptables-save) compare equal exactly when they hold the same rules.
positional: _input
options:
  _input:
    description: Text in iptables-save format.
    type: str
    required: true
"""

COUNTERS = re.compile(r"\[\d+:\d+\]")


def iptables_normalize(text):
    lines = []
    for raw in str(text).splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(COUNTERS.sub("[0:0]", line))
    return lines


def iptables_save_sections(text):
    """Text of sections headed `== NAME`, each an iptables-save dump, to {NAME: normalized lines}."""
    return {name: iptables_normalize("\n".join(lines)) for name, lines in split_sections(text).items()}


def iptables_drift(live_sections_text, wanted):
    """Families (section names) whose live rules differ from the wanted rule text, sorted."""
    live = iptables_save_sections(live_sections_text)
    return sorted(
        family for family, text in wanted.items() if live.get(family) != iptables_normalize(text)
    )


class FilterModule:
    def filters(self):
        return {
            "iptables_normalize": iptables_normalize,
            "iptables_save_sections": iptables_save_sections,
            "iptables_drift": iptables_drift,
        }
