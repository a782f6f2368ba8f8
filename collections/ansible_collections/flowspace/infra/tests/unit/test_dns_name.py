"""The collection's one rule for a DNS name, and the Jinja test and filters that use it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.app import flowspace_app_env
from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error
from ansible_collections.flowspace.infra.plugins.test.value_kinds import TestModule

NAMES = ["space-socket.flow-coder.com", "a.b", "xn--bcher-kva.example", "socket.debian12.molecule.test",
         "trailing.dot.example.", "A.EXAMPLE.COM", "a" * 63 + ".example"]
NOT_NAMES = ["", None, 42, "localhost", "https://a.example", "a.example:443", "a.example/path",
             "*.example.com", "-a.example", "a-.example", "a..example", "1.2.3.4", "a b.example",
             "a" * 64 + ".example", ("a" * 60 + ".") * 5 + "example", "a.example..", "a_b.example"]


@pytest.mark.parametrize("name", NAMES)
def test_dns_names_pass(name):
    assert dns_name_error(name) is None
    assert TestModule().tests()["dns_name"](name) is True


@pytest.mark.parametrize("value", NOT_NAMES)
def test_everything_else_is_refused_with_a_reason(value):
    error = dns_name_error(value)
    assert error and isinstance(error, str)
    assert TestModule().tests()["dns_name"](value) is False


def test_the_app_filter_uses_the_same_rule():
    stack = {"socket_domain": "socket.example.com", "livekit_domain": "livekit.example.com",
             "livekit_api_key": "key", "livekit_api_secret": "s" * 32}
    assert flowspace_app_env(stack)["NEXT_PUBLIC_SOCKET_URL"] == "https://socket.example.com"
    with pytest.raises(AnsibleFilterError, match="livekit_domain 'lk.example.com:443' is not a DNS name"):
        flowspace_app_env({**stack, "livekit_domain": "lk.example.com:443"})
    with pytest.raises(AnsibleFilterError, match="socket_domain"):
        flowspace_app_env({**stack, "socket_domain": "*.example.com"})
