"""Jinja test: `value is flowspace.infra.email_address`, the collection's one rule for an e-mail address."""

DOCUMENTATION = r"""
name: email_address
short_description: Whether a value is an e-mail address
description:
  - True for C(local@domain), the local part without spaces or C(@) and the domain a DNS name
    (the rule of the flowspace.infra.dns_name test).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check the ACME contact
  ansible.builtin.assert:
    that: caddy_acme_email is flowspace.infra.email_address
"""

RETURN = r"""
_value:
  description: Whether the value is an e-mail address.
  type: bool
"""

from ansible_collections.flowspace.infra.plugins.module_utils import value_kinds


def email_address(value):
    return value_kinds.email_address(value)


class TestModule:
    def tests(self):
        return {"email_address": email_address}
