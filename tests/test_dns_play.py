"""playbooks/dns.yml against the Vercel API emulator's DNS: the stack's names point at the
edge's public address, other records stay, a re-run reads once and writes nothing; with the
manual provider, the records to make are shown and nothing is sent."""

import json
import sys

import pytest

from ansible_run import run_playbook, write_inventory
from labkit.clients.vercel_client import EmulatorClient
from labkit.standins import vercel_emulator

TOKEN = "dns-play-token"
ZONE = "play.test"
EDGE = "203.0.113.10"
STACK = {"flowspace_socket_domain": f"socket.{ZONE}", "flowspace_livekit_domain": f"livekit.{ZONE}",
         "flowspace_turn_domain": f"turn.{ZONE}", "flowspace_dns_domain": ZONE}


@pytest.fixture
def lab(tmp_path):
    server = vercel_emulator.serve(0, [TOKEN])
    api = EmulatorClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    api.add_domain(ZONE)
    # The edge host is never reached: the play asks Vercel from the controller.
    inventory = write_inventory(tmp_path / "hosts.json", {"edge-a1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "ansible_host": EDGE, "flowspace_public_ipv4": EDGE}})

    def play(*args, **overrides):
        extra = {**STACK, "vercel_token": TOKEN, "vercel_api_url": api.base_url,
                 "flowspace_dns_provider": "vercel", **overrides}
        (tmp_path / "extra.json").write_text(json.dumps(extra))
        return run_playbook(inventory, "playbooks/dns.yml", "-e", f"@{tmp_path / 'extra.json'}", *args,
                            timeout=120)

    yield api, play
    server.shutdown()


def records(api):
    return sorted((r["name"], r["type"], r["value"]) for r in api.records(ZONE))


def test_the_names_point_at_the_edge_and_a_rerun_reads_once(lab) -> None:
    api, play = lab
    api.add_record(ZONE, name="", type="A", value="76.76.21.21")
    api.add_record(ZONE, name="livekit", type="A", value="198.51.100.1")
    api.add_record(ZONE, name="turn", type="AAAA", value="2001:db8::1")
    first = play()
    assert first.returncode == 0, first.output[-3000:]
    assert records(api) == [("", "A", "76.76.21.21"), ("livekit", "A", EDGE), ("socket", "A", EDGE),
                            ("turn", "A", EDGE)]
    assert first.changed("edge-a1") == ["Keep the stack's records on Vercel DNS"]
    api.clear_requests()
    again = play()
    assert again.unchanged(), again.changed_tasks
    assert [(r["method"], r["path"]) for r in api.requests()] == [("GET", f"/v5/domains/{ZONE}/records")]


def test_check_mode_shows_the_change_and_sends_no_write(lab) -> None:
    api, play = lab
    run = play("--check", "--diff")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed("edge-a1") == ["Keep the stack's records on Vercel DNS"]
    assert records(api) == []
    assert {r["method"] for r in api.requests()} == {"GET"}


def test_the_manual_provider_shows_the_records_and_sends_nothing(lab) -> None:
    api, play = lab
    run = play(flowspace_dns_provider="manual", flowspace_dns_ttl=300)
    assert run.returncode == 0, run.output[-3000:]
    shown = run.result("Show the records to make by hand (the DNS guard stops until they resolve)", "edge-a1")
    assert shown["msg"] == [f"socket.{ZONE}. 300 IN A {EDGE}", f"livekit.{ZONE}. 300 IN A {EDGE}",
                            f"turn.{ZONE}. 300 IN A {EDGE}"]
    assert api.requests() == []


def test_a_name_outside_the_domain_is_refused_before_any_write(lab) -> None:
    api, play = lab
    run = play(flowspace_turn_domain="turn.elsewhere.test")
    assert run.returncode != 0
    assert "records[2].name 'turn.elsewhere.test' is not in the domain 'play.test'" in run.output
    assert api.requests() == []
