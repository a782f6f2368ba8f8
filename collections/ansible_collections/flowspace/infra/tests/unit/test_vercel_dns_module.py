"""vercel_dns's main() against the Vercel API emulator's DNS, in this process: the writes it
sends, the records it leaves alone, faults, check mode and diff, and the errors a user reads."""

import pytest

from ansible_collections.flowspace.infra.plugins.modules import vercel_dns

ZONE = "example.com"
LIST = f"/v5/domains/{ZONE}/records"
CREATE = f"/v2/domains/{ZONE}/records"
STACK = [
    {"name": "socket.example.com", "values": ["192.0.2.10"]},
    {"name": "rtc.example.com", "values": ["192.0.2.10"]},
    {"name": "rtc.example.com", "type": "AAAA", "values": ["2001:db8::10"]},
]


@pytest.fixture
def dns(vercel, run_module):
    """DNS(records=STACK, check_mode=False, diff=False, **options): one vercel_dns run."""
    vercel.add_domain(ZONE)

    def run(records=None, check_mode=False, diff=False, **options):
        vercel.clear_requests()
        args = {"token": vercel.TOKEN, "api_url": vercel.base_url, "domain": ZONE, "retries": 3,
                "records": STACK if records is None else records, **options}
        return run_module(vercel_dns, args, check_mode=check_mode, diff=diff)

    return run


def zone(vercel):
    return sorted((r["name"], r["type"], r["value"], r["ttl"]) for r in vercel.records(ZONE))


def writes(vercel):
    return [(r["method"], r["path"]) for r in vercel.requests() if r["method"] != "GET"]


def test_a_first_run_creates_the_records_and_a_rerun_reads_once(vercel, dns) -> None:
    first = dns()
    assert (first["exit_code"], first["changed"]) == (0, True), first
    assert first["actions"] == ["create A rtc.example.com 192.0.2.10 (TTL 60)",
                                "create AAAA rtc.example.com 2001:db8::10 (TTL 60)",
                                "create A socket.example.com 192.0.2.10 (TTL 60)"]
    assert zone(vercel) == [("rtc", "A", "192.0.2.10", 60), ("rtc", "AAAA", "2001:db8::10", 60),
                            ("socket", "A", "192.0.2.10", 60)]
    assert writes(vercel) == [("POST", CREATE)] * 3
    assert {r["comment"] for r in vercel.records(ZONE)} == {"managed by flowspace.infra (vercel_dns)"}
    assert first["records"] == [
        {"name": "rtc.example.com", "type": "A", "value": "192.0.2.10", "ttl": 60},
        {"name": "rtc.example.com", "type": "AAAA", "value": "2001:db8::10", "ttl": 60},
        {"name": "socket.example.com", "type": "A", "value": "192.0.2.10", "ttl": 60},
    ]

    again = dns()
    assert (again["exit_code"], again["changed"], again["actions"], again["requests"]) == (0, False, [], 1)
    assert vercel.requests() == [{"method": "GET", "path": LIST, "query": {"limit": "100"}}]


def test_other_records_of_the_zone_and_of_the_names_are_never_touched(vercel, dns) -> None:
    vercel.add_record(ZONE, name="", type="A", value="76.76.21.21")
    vercel.add_record(ZONE, name="www", type="CNAME", value="cname.vercel-dns.com")
    vercel.add_record(ZONE, name="rtc", type="TXT", value="v=spf1 -all")
    vercel.add_record(ZONE, name="mail", type="A", value="192.0.2.99")
    before = zone(vercel)
    assert dns()["changed"] is True
    assert set(before) <= set(zone(vercel))
    assert len(zone(vercel)) == len(before) + 3
    removed = dns(state="absent")
    assert removed["actions"] == ["delete A rtc.example.com 192.0.2.10",
                                  "delete AAAA rtc.example.com 2001:db8::10",
                                  "delete A socket.example.com 192.0.2.10"]
    assert zone(vercel) == before


def test_a_wrong_address_is_changed_in_place_and_extra_ones_deleted(vercel, dns) -> None:
    old = vercel.add_record(ZONE, name="rtc", type="A", value="198.51.100.1", ttl=3600)
    vercel.add_record(ZONE, name="socket", type="A", value="198.51.100.1")
    vercel.add_record(ZONE, name="socket", type="A", value="198.51.100.2")
    run = dns(diff=True)
    assert run["actions"] == [
        "change A rtc.example.com 198.51.100.1 -> 192.0.2.10",
        "create AAAA rtc.example.com 2001:db8::10 (TTL 60)",
        "change A socket.example.com 198.51.100.1 -> 192.0.2.10",
        "delete A socket.example.com 198.51.100.2",
    ]
    assert ("PATCH", f"/v1/domains/records/{old['id']}") in writes(vercel)
    assert zone(vercel) == [("rtc", "A", "192.0.2.10", 60), ("rtc", "AAAA", "2001:db8::10", 60),
                            ("socket", "A", "192.0.2.10", 60)]
    assert run["diff"]["before"] == ("rtc.example.com. 3600 IN A 198.51.100.1\n"
                                     "socket.example.com. 60 IN A 198.51.100.1\n"
                                     "socket.example.com. 60 IN A 198.51.100.2\n")
    assert run["diff"]["after"] == ("rtc.example.com. 60 IN A 192.0.2.10\n"
                                    "rtc.example.com. 60 IN AAAA 2001:db8::10\n"
                                    "socket.example.com. 60 IN A 192.0.2.10\n")


def test_an_aaaa_with_no_address_removes_a_stale_one(vercel, dns) -> None:
    vercel.add_record(ZONE, name="socket", type="AAAA", value="2001:db8::99")
    run = dns(records=[STACK[0], {"name": "socket.example.com", "type": "AAAA", "values": []}])
    assert run["actions"] == ["create A socket.example.com 192.0.2.10 (TTL 60)",
                              "delete AAAA socket.example.com 2001:db8::99"]
    assert zone(vercel) == [("socket", "A", "192.0.2.10", 60)]


def test_a_ttl_drift_is_set_back_and_a_duplicate_removed(vercel, dns) -> None:
    vercel.add_record(ZONE, name="socket", type="A", value="192.0.2.10", ttl=300)
    vercel.add_record(ZONE, name="socket", type="A", value="192.0.2.10", ttl=300)
    run = dns(records=[STACK[0]])
    assert run["actions"] == ["set the TTL of A socket.example.com 192.0.2.10 to 60",
                              "delete A socket.example.com 192.0.2.10"]
    assert zone(vercel) == [("socket", "A", "192.0.2.10", 60)]


def test_check_mode_and_diff_write_nothing_and_tell_the_truth(vercel, dns) -> None:
    vercel.add_record(ZONE, name="rtc", type="A", value="198.51.100.1")
    before = zone(vercel)
    planned = dns(check_mode=True, diff=True)
    assert (planned["exit_code"], planned["changed"]) == (0, True)
    assert writes(vercel) == [] and zone(vercel) == before
    applied = dns(diff=True)
    assert applied["actions"] == planned["actions"]
    assert applied["diff"] == planned["diff"]
    assert dns(check_mode=True)["changed"] is False


def test_a_create_whose_answer_is_lost_is_not_sent_twice(vercel, dns) -> None:
    lost = {"method": "POST", "path": CREATE, "count": 1, "after": True, "drop": True}
    vercel.control("POST", "faults", lost)
    run = dns(records=[STACK[0]], timeout=2)
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert zone(vercel) == [("socket", "A", "192.0.2.10", 60)]
    assert writes(vercel) == [("POST", CREATE)]
    assert run["actions"] == ["create A socket.example.com 192.0.2.10 (TTL 60)"]


def test_a_create_refused_with_a_5xx_before_applying_is_sent_again(vercel, dns) -> None:
    vercel.control("POST", "faults", {"method": "POST", "path": CREATE, "count": 1, "status": 503})
    run = dns(records=[STACK[0]])
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert writes(vercel) == [("POST", CREATE)] * 2
    assert zone(vercel) == [("socket", "A", "192.0.2.10", 60)]
    assert run["actions"] == ["create A socket.example.com 192.0.2.10 (TTL 60)"]


def test_rate_limits_are_waited_out_as_vercel_asks(vercel, dns) -> None:
    vercel.control("POST", "faults", {"path": LIST, "count": 2, "status": 429, "retry_after": 7})
    run = dns()
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert vercel.clock.slept == [7.0, 7.0]


def test_a_zone_of_many_pages_is_read_whole(vercel, dns) -> None:
    for number in range(150):
        vercel.add_record(ZONE, name=f"host{number}", type="A", value="198.51.100.7")
    vercel.add_record(ZONE, name="socket", type="A", value="192.0.2.10")
    assert dns(records=[STACK[0]])["changed"] is False
    assert [r["path"] for r in vercel.requests()] == [LIST, LIST]


def delete_by_hand_before_the_first_write(vercel, monkeypatch, record) -> None:
    """RECORD is deleted (as by hand) just before the module's first write, which then goes ahead."""
    original = vercel_dns.Zone.write

    def delete_first(zone_, write, comment):
        vercel.call("DELETE", f"/v2/domains/{ZONE}/records/{record['id']}")
        monkeypatch.setattr(vercel_dns.Zone, "write", original)
        return original(zone_, write, comment)

    monkeypatch.setattr(vercel_dns.Zone, "write", delete_first)


def test_a_record_deleted_by_hand_meanwhile_is_re_planned(vercel, dns, monkeypatch) -> None:
    stale = vercel.add_record(ZONE, name="socket", type="A", value="198.51.100.1")
    delete_by_hand_before_the_first_write(vercel, monkeypatch, stale)
    run = dns(records=[STACK[0]])
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert zone(vercel) == [("socket", "A", "192.0.2.10", 60)]


@pytest.mark.parametrize(("records", "message"), [
    ([{"name": "socket.example.org", "values": ["192.0.2.1"]}],
     "vercel_dns: records[0].name 'socket.example.org' is not in the domain 'example.com'"),
    ([{"name": "socket.example.com", "values": ["192.0.2.300"]}],
     "vercel_dns: records[0].values: '192.0.2.300' is not an IPv4 address (an A record's value)"),
    ([{"name": "socket.example.com", "type": "AAAA", "values": ["192.0.2.1"]}],
     "vercel_dns: records[0].values: '192.0.2.1' is not an IPv6 address (an AAAA record's value)"),
    ([{"name": "socket.example.com", "values": []}],
     "vercel_dns: records[0]: A socket.example.com has no address (an instance without a public address? "
     "use state=absent to remove the record)"),
    ([{"name": "https://socket.example.com", "values": ["192.0.2.1"]}],
     "vercel_dns: records[0].name 'https://socket.example.com' is not a DNS name (no scheme, port or path)"),
    ([STACK[0], {"name": "SOCKET.example.com.", "values": ["192.0.2.2"]}],
     "vercel_dns: records[1]: A SOCKET.example.com. is listed twice"),
])
def test_bad_records_are_refused_before_any_request(vercel, dns, records, message) -> None:
    run = dns(records=records)
    assert (run["exit_code"], run["msg"], run["requests"], run["changed"]) == (1, message, 0, False)
    assert vercel.requests() == []


def test_a_ttl_vercel_does_not_allow_is_refused_before_any_request(vercel, dns) -> None:
    run = dns(ttl=30)
    assert run["msg"] == "vercel_dns: ttl 30 is outside what Vercel allows (60 to 2147483647 seconds)"
    assert vercel.requests() == []


def test_a_cname_at_a_stack_name_is_refused_before_any_write(vercel, dns) -> None:
    vercel.add_record(ZONE, name="rtc", type="CNAME", value="cname.vercel-dns.com")
    run = dns()
    assert run["exit_code"] == 1
    assert run["msg"] == ("rtc.example.com already has a CNAME record (to cname.vercel-dns.com); DNS "
                          "allows no A or AAAA record beside it: remove it, or give the stack another name")
    assert writes(vercel) == []


def test_a_domain_not_in_the_scope_is_named(vercel, dns) -> None:
    vercel.add_domain("team.example", team_id="team_1")
    for domain in ("missing.example", "team.example"):
        run = dns(domain=domain, records=[{"name": f"socket.{domain}", "values": ["192.0.2.1"]}])
        assert run["exit_code"] == 1
        assert run["msg"].startswith(f"Vercel has no domain {domain!r} in this scope (404): check domain and "
                                     "team_id/team_slug"), run["msg"]
        assert run["msg"].endswith("Written before the error: nothing.")
    in_team = dns(domain="team.example", team_id="team_1",
                  records=[{"name": "socket.team.example", "values": ["192.0.2.1"]}])
    assert (in_team["exit_code"], in_team["changed"]) == (0, True)


def test_a_token_without_dns_access_is_named(vercel, dns) -> None:
    vercel.deny_dns(vercel.TOKEN)
    run = dns()
    assert run["exit_code"] == 1
    assert run["msg"].startswith("Vercel refused to manage the DNS of example.com with this token "
                                 "(403 forbidden)")
    assert vercel.TOKEN not in run["msg"]


def test_a_failure_midway_says_what_was_written(vercel, dns) -> None:
    vercel.control("POST", "faults", {"method": "POST", "path": CREATE, "count": 1, "status": 400,
                                      "code": "bad_request"})
    vercel.add_record(ZONE, name="socket", type="A", value="198.51.100.1")
    run = dns(records=[STACK[0], {"name": "turn.example.com", "values": ["192.0.2.10"]}])
    assert run["exit_code"] == 1 and run["changed"] is True
    assert run["actions"] == ["change A socket.example.com 198.51.100.1 -> 192.0.2.10"]
    assert run["msg"] == ("Vercel API error for the DNS of example.com: POST "
                          "/v2/domains/example.com/records: HTTP 400 bad_request: Injected fault "
                          "Written before the error: change A "
                          "socket.example.com 198.51.100.1 -> 192.0.2.10.")


@pytest.mark.parametrize(("other", "same"), [
    ({}, True),
    ({"ttl": 3600}, True),  # a create is the same write whatever the TTL planned
    ({"name": "turn"}, False), ({"type": "AAAA"}, False), ({"value": "192.0.2.11"}, False),
    ({"op": "update"}, False),
])
def test_a_create_is_the_same_write_by_name_type_and_value(other, same) -> None:
    write = {"op": "create", "name": "socket", "type": "A", "value": "192.0.2.10", "ttl": 60}
    assert vercel_dns.same_write(write, {**write, **other}) is same


@pytest.mark.parametrize(("other", "same"), [
    ({}, True),
    ({"name": "elsewhere"}, True),  # an update is the same write by record id, value and TTL
    ({"id": "rec_2"}, False), ({"value": "192.0.2.11"}, False), ({"ttl": 3600}, False),
    ({"op": "delete"}, False),
])
def test_an_update_is_the_same_write_by_id_value_and_ttl(other, same) -> None:
    write = {"op": "update", "id": "rec_1", "name": "socket", "value": "192.0.2.10", "ttl": 60}
    assert vercel_dns.same_write(write, {**write, **other}) is same


def test_bad_input_results_are_whole(vercel, dns) -> None:
    run = dns(ttl=2147483648)
    assert {k: run[k] for k in ("exit_code", "changed", "actions", "requests")} == {
        "exit_code": 1, "changed": False, "actions": [], "requests": 0}
    assert run["msg"] == "vercel_dns: ttl 2147483648 is outside what Vercel allows (60 to 2147483647 seconds)"


@pytest.mark.parametrize("ttl", [60, 2147483647])
def test_the_ttls_at_vercels_limits_are_allowed(vercel, dns, ttl) -> None:
    run = dns(records=[STACK[0]], ttl=ttl)
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert zone(vercel) == [("socket", "A", "192.0.2.10", ttl)]


def test_the_domain_is_read_as_dns_reads_it(vercel, dns) -> None:
    run = dns(domain="Example.COM.", records=[STACK[0]])
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert run["actions"] == ["create A socket.example.com 192.0.2.10 (TTL 60)"]
    assert writes(vercel) == [("POST", CREATE)]


def test_a_conflict_fails_whole_before_any_write(vercel, dns) -> None:
    vercel.add_record(ZONE, name="socket", type="CNAME", value="cname.vercel-dns.com")
    run = dns(records=[STACK[0]])
    assert {k: run[k] for k in ("exit_code", "changed", "actions", "requests")} == {
        "exit_code": 1, "changed": False, "actions": [], "requests": 1}


def test_an_answer_without_a_record_list_is_named(vercel, dns, monkeypatch) -> None:
    monkeypatch.setattr(vercel_dns.VercelClient, "request", lambda self, method, path, query=None, body=None:
                        self.requests.append(path) or {"error": "maintenance"})
    run = dns(records=[STACK[0]])
    assert {k: run[k] for k in ("exit_code", "changed", "actions", "requests")} == {
        "exit_code": 1, "changed": False, "actions": [], "requests": 1}
    assert run["msg"] == ("Vercel API error for the DNS of example.com: GET "
                          "/v5/domains/example.com/records: "
                          "HTTP 200 unexpected_answer: no record list in: {'error': 'maintenance'} "
                          "Written before the error: nothing.")


def test_writes_that_never_settle_stop_after_three_re_reads(vercel, dns, monkeypatch) -> None:
    def lost(zone_, write, comment):
        zone_.client.requests.append("POST")
        raise vercel_dns.AmbiguousWrite(None, "no_answer", "connection reset", "POST", CREATE)

    monkeypatch.setattr(vercel_dns.Zone, "write", lost)
    run = dns(records=[STACK[0]])
    assert {k: run[k] for k in ("exit_code", "changed", "actions")} == {
        "exit_code": 1, "changed": False, "actions": []}
    assert run["msg"] == ("the DNS of example.com did not settle after 3 re-reads (writes whose answers were "
                          "lost); written: nothing")
    # The first read, and one after each of the 4 tries.
    assert [r["path"] for r in vercel.requests()] == [LIST] * 5


def test_a_record_deleted_by_hand_before_its_delete_is_no_error(vercel, dns, monkeypatch) -> None:
    stale = vercel.add_record(ZONE, name="socket", type="A", value="192.0.2.10")
    delete_by_hand_before_the_first_write(vercel, monkeypatch, stale)
    run = dns(records=[STACK[0]], state="absent")
    assert (run["exit_code"], run["changed"], run["actions"]) == (0, False, []), run
    assert zone(vercel) == []


def test_a_refused_update_is_an_error_not_a_re_plan(vercel, dns) -> None:
    vercel.add_record(ZONE, name="socket", type="A", value="198.51.100.1")
    vercel.control("POST", "faults", {"method": "PATCH", "path": "/v1/domains/records/", "count": 1,
                                      "status": 400, "code": "bad_request"})
    run = dns(records=[STACK[0]])
    assert {k: run[k] for k in ("exit_code", "changed", "actions")} == {
        "exit_code": 1, "changed": False, "actions": []}
    assert run["msg"].startswith("Vercel API error for the DNS of example.com: PATCH /v1/domains/records/")
    assert run["msg"].endswith("HTTP 400 bad_request: Injected fault Written before the error: nothing.")
    assert [r["path"] for r in vercel.requests()].count(LIST) == 1
