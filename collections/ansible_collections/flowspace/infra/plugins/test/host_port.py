"""Jinja test: `value is flowspace.infra.host_port`, the collection's one rule for host:port."""

DOCUMENTATION = r"""
name: host_port
short_description: Whether a value is host:port
description:
  - True for a host name, an IPv4 address or a bracketed IPv6 address, a colon and a port
    from 1 to 65535 (C(localhost:2019), C(10.0.0.5:6379), C([::1]:25)).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check the smarthost
  ansible.builtin.assert:
    that: monitoring_alert_email_smarthost is flowspace.infra.host_port
"""

RETURN = r"""
_value:
  description: Whether the value is host:port.
  type: bool
"""

from ansible_collections.flowspace.infra.plugins.module_utils import value_kinds


def host_port(value):
    return value_kinds.host_port(value) is not None


class TestModule:
    def tests(self):
        return {"host_port": host_port}
