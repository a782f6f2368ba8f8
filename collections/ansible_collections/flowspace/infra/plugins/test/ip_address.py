"""Jinja test: `value is flowspace.infra.ip_address`, the collection's one rule for an IP address."""

DOCUMENTATION = r"""
name: ip_address
short_description: Whether a value is an IP address
description:
  - True for an IPv4 or IPv6 address (no prefix length, port or brackets).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
  version:
    description: Only addresses of this version (4 or 6).
    type: int
  loopback:
    description: Only loopback addresses (true) or only others (false).
    type: bool
"""

EXAMPLES = r"""
- name: Check the bind address
  ansible.builtin.assert:
    that: livekit_bind_address is flowspace.infra.ip_address(version=4)
"""

RETURN = r"""
_value:
  description: Whether the value is such an address.
  type: bool
"""

from ansible_collections.flowspace.infra.plugins.module_utils import value_kinds


def ip_address(value, version=None, loopback=None):
    return value_kinds.ip_address(value, version, loopback) is not None


class TestModule:
    def tests(self):
        return {"ip_address": ip_address}
