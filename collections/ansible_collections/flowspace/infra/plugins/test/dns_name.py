"""Jinja test: `value is flowspace.infra.dns_name`, the collection's one rule for a domain."""

DOCUMENTATION = r"""
name: dns_name
short_description: Whether a value is a DNS name Caddy can get a certificate for
description:
  - True for at least two labels of letters, digits and inner hyphens (1-63 characters each,
    253 in all, one trailing dot allowed); false for a scheme, port, path, wildcard, IP
    address or empty value.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check the socket domain
  ansible.builtin.assert:
    that: flowspace_socket_domain is flowspace.infra.dns_name
"""

RETURN = r"""
_value:
  description: Whether the value is a DNS name.
  type: bool
"""

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error


def dns_name(value):
    return dns_name_error(value) is None


class TestModule:
    def tests(self):
        return {"dns_name": dns_name}
