"""The collection's one rule per kind of value (IP address, host:port, e-mail address, URL),
through the Jinja tests the roles and playbooks use."""

import pytest

from ansible_collections.flowspace.infra.plugins.test.value_kinds import TestModule

TESTS = TestModule().tests()
ip_address, host_port = TESTS["ip_address"], TESTS["host_port"]
email_address, url = TESTS["email_address"], TESTS["url"]


@pytest.mark.parametrize(("value", "options", "expected"), [
    ("10.0.0.5", {}, True), ("::1", {}, True), ("2001:db8::1", {"version": 6}, True),
    ("10.0.0.5", {"version": 4}, True), ("2001:db8::1", {"version": 4}, False),
    ("10.0.0.5", {"version": 6}, False), ("127.0.0.1", {"loopback": True}, True),
    ("127.8.9.10", {"version": 4, "loopback": True}, True), ("10.0.0.5", {"loopback": True}, False),
    ("127.0.0.1", {"loopback": False}, False), ("0.0.0.0", {"loopback": True}, False),  # noqa: S104
    ("10.0.0.256", {}, False), ("10.0.0", {}, False), ("10.0.0.5/24", {}, False), ("[::1]", {}, False),
    ("host.example", {}, False), ("", {}, False), (None, {}, False), (167772165, {}, False),
])
def test_ip_address(value, options, expected):
    assert ip_address(value, **options) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("localhost:2019", True), ("10.0.0.5:6379", True), ("[::1]:25", True), ("smtp.example.com:587", True),
    ("redis:6379", True), ("a:65535", True), ("a:1", True),
    ("a:0", False), ("a:65536", False), ("a:", False), (":80", False), ("a", False), ("a:http", False),
    ("::1:25", False), ("[10.0.0.5]:25", False), ("10.0.0.256:25", False), ("-a.example:25", False),
    ("a b:25", False), ("http://a:25", False), ("a:25/x", False), ("", False), (None, False), (25, False),
])
def test_host_port(value, expected):
    assert host_port(value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("ops@flowspace.test", True), ("first.last+tag@mail.example.com", True),
    ("ops@localhost", False), ("ops@", False), ("@example.com", False), ("ops@@example.com", False),
    ("o ps@example.com", False), ("ops@exa mple.com", False), ("ops@1.2.3.4", False), ("ops", False),
    ("", False), (None, False), ("x" * 65 + "@example.com", False),
])
def test_email_address(value, expected):
    assert email_address(value) is expected


@pytest.mark.parametrize(("value", "options", "expected"), [
    ("https://acme-v02.api.letsencrypt.org/directory", {}, True),
    ("https://pebble:14000/dir", {}, True),
    ("http://127.0.0.1:8787", {"schemes": ["http", "https"]}, True),
    ("redis://user:secret@10.0.0.5:6379", {"schemes": ["redis", "rediss"]}, True),
    ("https://space.example", {"path": False}, True), ("https://space.example:8443", {"path": False}, True),
    ("http://acme.test/dir", {}, False), ("https://", {}, False), ("https:///dir", {}, False),
    ("https://a.example/x y", {}, False), ("acme.example/dir", {}, False),
    ("https://a.example:port/", {}, False),
    ("https://space.example/", {"path": False}, False), ("https://space.example?x=1", {"path": False}, False),
    ("ftp://a.example", {"schemes": ["http", "https"]}, False), ("", {}, False), (None, {}, False),
])
def test_url(value, options, expected):
    assert url(value, **options) is expected
