"""flowspace_app_env and vercel_config_with_csp."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.app import flowspace_app_env, vercel_config_with_csp

STACK = {"socket_domain": "s.example.com", "livekit_domain": "l.example.com",
         "livekit_api_key": "APIkey", "livekit_api_secret": "x" * 32}


def test_the_app_environment_follows_the_stack() -> None:
    assert flowspace_app_env(STACK) == {
        "NEXT_PUBLIC_SOCKET_URL": "https://s.example.com",
        "NEXT_PUBLIC_LIVEKIT_URL": "wss://l.example.com",
        "LIVEKIT_URL": "wss://l.example.com",
        "LIVEKIT_API_KEY": "APIkey",
        "LIVEKIT_API_SECRET": "x" * 32,
    }


@pytest.mark.parametrize(("change", "expected"), [
    ({"livekit_api_secret": ""}, "missing livekit_api_secret"),
    ({"socket_domain": "https://s.example.com"}, "socket_domain 'https://s.example.com' is not a DNS name"),
])
def test_bad_stacks_are_refused(change, expected) -> None:
    with pytest.raises(AnsibleFilterError, match=expected):
        flowspace_app_env({**STACK, **change})


def test_the_csp_header_is_added_once_and_other_settings_kept() -> None:
    existing = {"framework": "nextjs", "headers": [
        {"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"},
                                        {"key": "Content-Security-Policy", "value": "old"}]}]}
    config = vercel_config_with_csp(existing, ["wss://l.example.com"])
    assert config["framework"] == "nextjs"
    assert config["headers"] == [{"source": "/(.*)", "headers": [
        {"key": "X-Frame-Options", "value": "DENY"},
        {"key": "Content-Security-Policy", "value": "connect-src 'self' wss://l.example.com"}]}]
    assert vercel_config_with_csp(config, ["wss://l.example.com"]) == config
    assert existing["headers"][0]["headers"][1]["value"] == "old", "input not modified"


def test_an_empty_config_gets_the_header_and_other_paths_rules_are_kept() -> None:
    assert vercel_config_with_csp(None, ["https://s.example.com", "wss://l.example.com"]) == {"headers": [
        {"source": "/(.*)", "headers": [{"key": "Content-Security-Policy",
                                         "value": "connect-src 'self' https://s.example.com wss://l.example.com"}]}]}
    api_rule = {"source": "/api/(.*)", "headers": [{"key": "Cache-Control", "value": "no-store"}]}
    existing = {"headers": [api_rule, {"source": "/(.*)", "has": [{"type": "host", "value": "x"}],
                                       "headers": [{"key": "content-security-policy", "value": "old"}]}]}
    config = vercel_config_with_csp(existing, [])
    assert config["headers"] == [api_rule, {"source": "/(.*)", "has": [{"type": "host", "value": "x"}],
                                            "headers": [{"key": "Content-Security-Policy",
                                                         "value": "connect-src 'self'"}]}]
    assert existing["headers"][1]["headers"] == [{"key": "content-security-policy", "value": "old"}]


def test_a_vercel_json_that_is_no_object_is_named() -> None:
    with pytest.raises(AnsibleFilterError) as refused:
        vercel_config_with_csp(["headers"], [])
    assert str(refused.value) == "vercel_config_with_csp: the existing vercel.json is not a JSON object"


def test_the_app_environment_refusals_are_worded_whole() -> None:
    for stack, message in ((["x"], "flowspace_app_env expects a dict, got list"),
                           ({}, "flowspace_app_env: missing socket_domain, livekit_domain, livekit_api_key, "
                                "livekit_api_secret")):
        with pytest.raises(AnsibleFilterError) as refused:
            flowspace_app_env(stack)
        assert str(refused.value) == message


def test_a_header_without_a_key_is_kept() -> None:
    existing = {"headers": [{"source": "/(.*)", "headers": [{"value": "no key"}]}]}
    assert vercel_config_with_csp(existing, [])["headers"][0]["headers"] == [
        {"value": "no key"}, {"key": "Content-Security-Policy", "value": "connect-src 'self'"}]
