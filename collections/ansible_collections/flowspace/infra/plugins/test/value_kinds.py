"""Jinja tests, one per kind of value the stack's inputs hold: `value is flowspace.infra.<kind>`.
Each is the collection's one rule for its kind (module_utils/value_kinds.py, module_utils/
dns_name.py), used by the roles' and the preflight's checks alike. Their documentation is in
the YAML file of each test's name beside this one."""

from ansible_collections.flowspace.infra.plugins.module_utils import value_kinds
from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error


def dns_name(value):
    return dns_name_error(value) is None


def email_address(value):
    return value_kinds.email_address(value)


def host_port(value):
    return value_kinds.host_port(value) is not None


def ip_address(value, version=None, loopback=None):
    return value_kinds.ip_address(value, version, loopback) is not None


def url(value, schemes=("https",), path=True):
    return value_kinds.url(value, schemes, path)


class TestModule:
    def tests(self):
        return {"dns_name": dns_name, "email_address": email_address, "host_port": host_port,
                "ip_address": ip_address, "url": url}
