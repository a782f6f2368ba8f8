"""caddy_site_errors: every malformed site is named with its field; valid sites pass."""

import pytest

from ansible_collections.flowspace.infra.plugins.filter.caddy import caddy_site_errors

OPTION_KEYS = ["health_uri", "health_interval", "health_timeout", "dial_timeout", "lb_policy",
               "lb_try_duration", "fail_duration", "max_body_size", "stream_close_delay", "hsts_max_age",
               "headers", "extra_directives"]
GOOD = {"domain": "socket.example.com", "upstream": "127.0.0.1:3001"}


def test_valid_sites_have_no_errors() -> None:
    sites = [GOOD, {"domain": "livekit.example.com", "upstream": "localhost:7880",
                    "options": {"health_uri": "/healthz", "max_body_size": "20MB", "hsts_max_age": 0,
                                "headers": {"X-Robots-Tag": "noindex"}, "stream_close_delay": "10m"}},
             {"domain": "v6.example.com", "upstream": "[::1]:8080"},
             {"domain": "balanced.example.com", "upstream": ["10.0.0.2:3001", "10.0.0.3:3001"],
              "options": {"lb_policy": "client_ip_hash", "lb_try_duration": "5s"}}]
    assert caddy_site_errors(sites, OPTION_KEYS) == []


@pytest.mark.parametrize(("site", "expected"), [
    ({"upstream": "127.0.0.1:1"}, "domain is missing"),
    ({**GOOD, "domain": "https://socket.example.com"}, "is not a DNS name"),
    ({**GOOD, "domain": "socket"}, "is not a DNS name"),
    ({**GOOD, "domain": "socket.example.com:443"}, "is not a DNS name"),
    ({**GOOD, "upstream": "127.0.0.1"}, "must be host:port"),
    ({**GOOD, "upstream": "127.0.0.1:70000"}, "no valid port"),
    ({**GOOD, "upstream": "bad host:80"}, "no valid host"),
    ({**GOOD, "upstream": []}, "upstream list is empty"),
    ({**GOOD, "upstream": ["10.0.0.2:3001", "10.0.0.2"]}, "'10.0.0.2' must be host:port"),
    ({**GOOD, "upstream": ["10.0.0.2:3001", "10.0.0.2:3001"]}, "names one upstream twice"),
    ({**GOOD, "options": {"lb_policy": "sticky"}}, "lb_policy='sticky' is not empty"),
    ({**GOOD, "options": {"lb_try_duration": 5}}, "lb_try_duration=5 is not empty or a duration"),
    ({**GOOD, "upsteam": "x"}, "unknown key(s) upsteam"),
    ({**GOOD, "options": {"websockets": True}}, "unknown option 'websockets'"),
    ({**GOOD, "options": {"max_body_size": "ten"}}, "max_body_size='ten' is not a size"),
    ({**GOOD, "options": {"health_interval": 10}}, "health_interval=10 is not a duration"),
    ({**GOOD, "options": {"health_uri": "healthz"}}, "health_uri='healthz' is not a path"),
    ({**GOOD, "options": {"hsts_max_age": True}}, "hsts_max_age=True"),
    ({**GOOD, "options": {"headers": {"X-A": 'a" }'}}}, "header 'X-A'"),
    ({**GOOD, "options": {"headers": ["X-A"]}}, "headers must be a dict"),
    ({**GOOD, "options": {"extra_directives": ["a\nb"]}}, "single-line"),
    ({**GOOD, "options": "fast"}, "options must be a dict"),
])
def test_each_problem_is_named(site, expected) -> None:
    errors = caddy_site_errors([site], OPTION_KEYS)
    assert any(expected in error for error in errors), errors


def test_duplicate_domains_are_refused() -> None:
    errors = caddy_site_errors([GOOD, {**GOOD, "domain": "Socket.Example.com."}], OPTION_KEYS)
    assert errors == ["site 1 (Socket.Example.com.): domain is defined twice"]


def test_not_a_list() -> None:
    assert caddy_site_errors({"domain": "x.test"}, OPTION_KEYS) == ["must be a list of sites, got dict"]
