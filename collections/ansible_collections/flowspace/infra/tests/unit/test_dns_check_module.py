"""dns_check's main() against a DNS resolver's stand-in: right names pass, every kind of wrong
answer is named with what it is and what it must be, bad input is refused before any question."""

import pytest
from stand_ins import DnsServer

from ansible_collections.flowspace.infra.plugins.modules import dns_check

NAMES = ["socket.example.com", "rtc.example.com"]
EDGE = "203.0.113.10"


@pytest.fixture
def check(resolver, run_module):
    def run(names=None, addresses=None, resolvers=None, **options):
        args = {"names": NAMES if names is None else names, "addresses": addresses or [EDGE],
                "resolvers": resolvers or [resolver.address], "timeout": 0.5, **options}
        return run_module(dns_check, args)

    return run


def test_names_resolving_to_the_edge_pass(resolver, check) -> None:
    resolver.records = {"socket.example.com": {"A": [EDGE]},
                        "rtc.example.com": {"CNAME": "socket.example.com"}}
    run = check()
    assert (run["exit_code"], run["changed"], run["wrong"]) == (0, False, [])
    assert run["resolved"] == {name: {resolver.address: {"A": [EDGE], "AAAA": []}} for name in NAMES}
    assert sorted(resolver.questions) == sorted((name, kind) for name in NAMES for kind in ("A", "AAAA"))


def test_each_wrong_answer_is_named_with_what_it_must_be(resolver, check) -> None:
    resolver.records = {"socket.example.com": {"A": ["198.51.100.1"]},
                        "rtc.example.com": {"A": [EDGE], "AAAA": ["2001:db8::1"]},
                        "turn.example.com": {"TXT": ["x"]}}
    run = check(names=[*NAMES, "turn.example.com", "missing.example.com"])
    at = resolver.address
    assert run["exit_code"] == 1
    assert run["wrong"] == [
        f"socket.example.com resolves to A 198.51.100.1 through {at}; it must resolve to {EDGE} (the edge)",
        f"rtc.example.com resolves to A {EDGE}; AAAA 2001:db8::1 through {at}; it must resolve to {EDGE} "
        "(the edge)",
        f"turn.example.com resolves to nothing (no A or AAAA record) through {at}; it must resolve to "
        f"{EDGE} (the edge)",
        f"missing.example.com resolves to nothing (no A or AAAA record) through {at}; it must resolve to "
        f"{EDGE} (the edge)",
    ]
    assert run["msg"] == f"not every name resolves to {EDGE}: " + "; ".join(run["wrong"])


def test_an_ipv6_edge_needs_both_records_and_extra_addresses_are_wrong(resolver, check) -> None:
    resolver.records = {"socket.example.com": {"A": [EDGE], "AAAA": ["2001:db8::10"]},
                        "rtc.example.com": {"A": [EDGE, "198.51.100.1"], "AAAA": ["2001:db8::10"]}}
    run = check(addresses=[EDGE, "2001:DB8::10"])
    assert run["wrong"] == [f"rtc.example.com resolves to A 198.51.100.1, {EDGE}; AAAA 2001:db8::10 "
                            f"through {resolver.address}; it must resolve to {EDGE} and 2001:db8::10 "
                            "(the edge)"]


def test_a_silent_resolver_is_a_warning_beside_one_that_answers_and_a_failure_alone(resolver, check) -> None:
    resolver.records = {name: {"A": [EDGE]} for name in NAMES}
    silent = DnsServer()
    silent.silent = True
    try:
        run = check(resolvers=[resolver.address, silent.address])
        assert run["exit_code"] == 0, run
        assert [w.split(" (")[0] for w in run["warnings"]] == [
            f"{silent.address} did not answer for {name}" for name in NAMES]
        alone = check(resolvers=[silent.address])
        assert alone["exit_code"] == 1
        assert alone["wrong"] == [f"{name}: no resolver answered ({silent.address})" for name in NAMES]
    finally:
        silent.close()


def test_a_wait_asks_again_until_the_records_are_right(resolver, check, monkeypatch) -> None:
    resolver.records = {name: {"A": ["198.51.100.1"]} for name in NAMES}
    asked = []
    resolve_all = dns_check.resolve_all

    def records_fixed_on_the_third_round(*args):
        asked.append(True)
        if len(asked) == 3:
            resolver.records = {name: {"A": [EDGE]} for name in NAMES}
        return resolve_all(*args)

    monkeypatch.setattr(dns_check, "resolve_all", records_fixed_on_the_third_round)
    run = check(wait=60, interval=10)
    assert run["exit_code"] == 0 and len(asked) == 3 and resolver.clock.slept == [10, 10]
    asked.clear()
    resolver.records = {name: {"A": ["198.51.100.1"]} for name in NAMES}
    monkeypatch.setattr(dns_check, "resolve_all", resolve_all)
    gave_up = check(wait=25, interval=10)
    assert gave_up["exit_code"] == 1
    assert gave_up["msg"].startswith(f"not every name resolves to {EDGE} (asked again for 25 s): ")
    assert resolver.clock.slept == [10, 10, 10, 10]


@pytest.mark.parametrize(("options", "message"), [
    ({"names": ["https://x.example.com"]},
     "dns_check: names: 'https://x.example.com': 'https://x.example.com' is not a DNS name (no scheme, "
     "port or path)"),
    ({"names": []}, "dns_check: names is empty"),
    ({"addresses": ["edge.example.com"]}, "dns_check: addresses: 'edge.example.com' is not an IP address"),
    ({"resolvers": ["1.1.1.1:99999"]},
     "dns_check: resolvers: '1.1.1.1:99999' is not an address or address:port"),
    ({"resolvers": ["dns.google"]}, "dns_check: resolvers: 'dns.google' is not an address or address:port"),
])
def test_bad_input_is_refused_before_any_question(resolver, check, options, message) -> None:
    run = check(**options)
    assert (run["exit_code"], run["msg"]) == (1, message)
    assert resolver.questions == []


def test_empty_addresses_name_the_missing_public_address(resolver, run_module) -> None:
    run = run_module(dns_check, {"names": NAMES, "addresses": [], "resolvers": [resolver.address]})
    assert run["msg"] == "dns_check: addresses is empty (the edge has no public address?)"


@pytest.mark.parametrize(("text", "parsed"), [
    ("1.1.1.1", ("1.1.1.1", 53)), ("127.0.0.1:8053", ("127.0.0.1", 8053)),
    ("2606:4700:4700::1111", ("2606:4700:4700::1111", 53)), ("[::1]:5353", ("::1", 5353)),
    ("[::1]", ("::1", 53)),
])
def test_resolver_addresses_with_and_without_ports(text, parsed) -> None:
    assert dns_check.parse_resolver(text) == parsed


@pytest.mark.parametrize("text", ["1.1.1.1:0", "1.1.1.1:65536", "[::1]junk", "[::1]:", "1.1.1.1:x"])
def test_resolver_ports_out_of_range_or_malformed_are_refused(text) -> None:
    with pytest.raises(ValueError):
        dns_check.parse_resolver(text)


@pytest.mark.parametrize(("text", "parsed"), [
    ("1.1.1.1:1", ("1.1.1.1", 1)), ("[::1]:65535", ("::1", 65535))])
def test_resolver_ports_at_the_ends_of_the_range_are_allowed(text, parsed) -> None:
    assert dns_check.parse_resolver(text) == parsed


def test_no_resolver_at_all_is_refused_whole(resolver, run_module) -> None:
    run = run_module(dns_check, {"names": NAMES, "addresses": [EDGE], "resolvers": []})
    assert (run["exit_code"], run["msg"], run["changed"]) == (1, "dns_check: resolvers is empty", False)
    assert resolver.questions == []


def test_names_are_asked_as_dns_reads_them(resolver, check) -> None:
    resolver.records = {"socket.example.com": {"A": [EDGE]}}
    run = check(names=["SOCKET.Example.com."])
    assert (run["exit_code"], list(run["resolved"])) == (0, ["socket.example.com"]), run
    assert sorted(resolver.questions) == [("socket.example.com", "A"), ("socket.example.com", "AAAA")]


def test_several_edge_addresses_are_all_named(resolver, check) -> None:
    resolver.records = {"socket.example.com": {"A": ["198.51.100.1"]}}
    run = check(names=["socket.example.com"], addresses=[EDGE, "203.0.113.11", "2001:db8::10"])
    assert run["wrong"] == [f"socket.example.com resolves to A 198.51.100.1 through {resolver.address}; "
                            f"it must resolve to {EDGE}, 203.0.113.11 and 2001:db8::10 (the edge)"]
    assert run["msg"] == f"not every name resolves to 2001:db8::10, {EDGE}, 203.0.113.11: " + run["wrong"][0]


def test_every_silent_resolver_is_named_with_its_error(resolver, check) -> None:
    first, second = DnsServer(), DnsServer()
    first.silent = second.silent = True
    try:
        run = check(names=["socket.example.com"], resolvers=[first.address, second.address])
        answered = f"socket.example.com: no resolver answered ({first.address}, {second.address})"
        assert run["wrong"] == [answered]
        errors = [found["error"] for found in run["resolved"]["socket.example.com"].values()]
        assert all(error.startswith("LifetimeTimeout: ") for error in errors), errors
    finally:
        first.close()
        second.close()


def test_without_dnspython_the_missing_library_is_named(resolver, run_module, monkeypatch) -> None:
    monkeypatch.setattr(dns_check, "HAS_DNSPYTHON", False)
    monkeypatch.setattr(dns_check, "DNSPYTHON_ERROR", "Traceback: No module named 'dns'")
    run = run_module(dns_check, {"names": NAMES, "addresses": [EDGE], "resolvers": [resolver.address]})
    assert run["exit_code"] == 1
    assert run["msg"].startswith("Failed to import the required Python library (dnspython)")
    assert run["exception"] == "Traceback: No module named 'dns'"
    assert resolver.questions == []
