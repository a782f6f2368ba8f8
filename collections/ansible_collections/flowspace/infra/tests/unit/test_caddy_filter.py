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


def site_with(**options):
    return [{**GOOD, "options": options}]


NAME = "site 0 (socket.example.com)"
TOKEN_RULE = "must be a token with a one-line value without quotes or braces"


@pytest.mark.parametrize(("options", "message"), [
    ({"health_uri": "healthz"}, "option health_uri='healthz' is not a path starting with /"),
    ({"health_uri": "/a b"}, "option health_uri='/a b' is not a path starting with /"),
    ({"health_uri": '/a"b'}, "option health_uri='/a\"b' is not a path starting with /"),
    ({"health_uri": 5}, "option health_uri=5 is not a path starting with /"),
    ({"health_interval": "10"}, "option health_interval='10' is not a duration such as 10s"),
    ({"health_interval": ""}, "option health_interval='' is not a duration such as 10s"),
    ({"lb_policy": "fastest"}, "option lb_policy='fastest' is not empty (Caddy's default) or one of "
                               "random, round_robin, least_conn, first, ip_hash, client_ip_hash, uri_hash"),
    ({"lb_try_duration": "5"}, "option lb_try_duration='5' is not empty or a duration such as 5s"),
    ({"fail_duration": "1d"}, "option fail_duration='1d' is not empty or a duration such as 30s"),
    ({"health_timeout": 2}, "option health_timeout=2 is not empty or a duration such as 2s"),
    ({"dial_timeout": "2 s"}, "option dial_timeout='2 s' is not empty or a duration such as 2s"),
    ({"stream_close_delay": ""}, "option stream_close_delay='' is not a duration such as 5m"),
    ({"max_body_size": "10 MB"}, "option max_body_size='10 MB' is not a size such as 10MB"),
    ({"max_body_size": 10}, "option max_body_size=10 is not a size such as 10MB"),
    ({"hsts_max_age": -1}, "option hsts_max_age=-1 is not seconds, an integer >= 0"),
    ({"hsts_max_age": True}, "option hsts_max_age=True is not seconds, an integer >= 0"),
    ({"hsts_max_age": "60"}, "option hsts_max_age='60' is not seconds, an integer >= 0"),
    ({"extra_directives": "encode gzip"},
     "option extra_directives='encode gzip' is not a list of single-line Caddyfile directives"),
    ({"extra_directives": ["a\nb"]},
     "option extra_directives=['a\\nb'] is not a list of single-line Caddyfile directives"),
    ({"extra_directives": [1]},
     "option extra_directives=[1] is not a list of single-line Caddyfile directives"),
    ({"headers": ["X-A"]}, "option headers must be a dict of header name to value"),
    ({"headers": {"X A": "v"}}, f"header 'X A' {TOKEN_RULE}"),
    ({"headers": {"X-A": "{v}"}}, f"header 'X-A' {TOKEN_RULE}"),
    ({"headers": {"X-A": 1}}, f"header 'X-A' {TOKEN_RULE}"),
    ({"headers": {"X" * 65: "v"}},
     f"header {'X' * 65!r} {TOKEN_RULE}"),
    ({"colour": "red"}, "unknown option 'colour' (known: " + ", ".join(OPTION_KEYS) + ")"),
], ids=lambda value: str(value)[:40])
def test_each_bad_option_is_named_with_what_it_should_be(options, message) -> None:
    assert caddy_site_errors(site_with(**options), OPTION_KEYS) == [f"{NAME}: {message}"]


@pytest.mark.parametrize("options", [
    {"health_uri": "/"}, {"health_interval": "250ms"}, {"health_interval": "2h"},
    {"lb_policy": ""}, {"lb_policy": "uri_hash"}, {"lb_try_duration": ""}, {"fail_duration": ""},
    {"health_timeout": ""}, {"dial_timeout": "3m"}, {"max_body_size": "1GiB"}, {"max_body_size": "512"},
    {"hsts_max_age": 0}, {"extra_directives": []}, {"headers": {}}, {"headers": {"X-" + "a" * 62: "v"}},
], ids=lambda value: str(value)[:40])
def test_each_edge_of_an_option_is_accepted(options) -> None:
    assert caddy_site_errors(site_with(**options), OPTION_KEYS) == []


def test_options_that_are_not_a_dict_are_named() -> None:
    assert caddy_site_errors([{**GOOD, "options": ["x"]}], OPTION_KEYS) == [
        f"{NAME}: options must be a dict, got list"]
