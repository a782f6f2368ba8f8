"""Jinja test: `value is flowspace.infra.url`, the collection's one rule for a URL."""

DOCUMENTATION = r"""
name: url
short_description: Whether a value is an absolute URL of given schemes
description:
  - True for an absolute URL with one of O(schemes) and a host, without whitespace; with
    O(path=false), nothing after the host and port (an origin such as C(https://app.example)).
options:
  _input:
    description: The value to test.
    type: raw
    required: true
  schemes:
    description: The schemes allowed.
    type: list
    elements: str
    default: [https]
  path:
    description: Whether a path, query or fragment may follow the host.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check the ACME directory
  ansible.builtin.assert:
    that: caddy_acme_ca is flowspace.infra.url
- name: Check the app's origin
  ansible.builtin.assert:
    that: flowspace_app_origin is flowspace.infra.url(schemes=['http', 'https'], path=false)
"""

RETURN = r"""
_value:
  description: Whether the value is such a URL.
  type: bool
"""

from ansible_collections.flowspace.infra.plugins.module_utils import value_kinds


def url(value, schemes=("https",), path=True):
    return value_kinds.url(value, schemes, path)


class TestModule:
    def tests(self):
        return {"url": url}
