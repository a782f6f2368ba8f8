"""Real browsers against the converged Debian 12 site host (tests/conftest.py's `sites`):
headless Chromium pages at the app origin, under the CSP the Vercel play rendered into
vercel.json, meet in a space over Socket.io and hear each other over LiveKit — also with UDP
to the host dropped (the call goes over ICE/TCP), and with only TCP 443 let through (the call
goes through TURN over TLS, which the edge relays by name on 443). labkit/clients/browser.py says what
makes these pages a user's browser."""

import json
import re
import time
import uuid

import pytest

from ansible_run import run_playbook
from labkit.clients import browser as browser_client
from labkit.clients import socket_tokens
from labkit.clients.browser import Browser, csp_of
from labkit.clients.livekit_clients import LiveKitClients
from site_stack import APP_ORIGIN

pytestmark = pytest.mark.integration

APP_FILES = {"Write .env.production (the secret included, so owner-only)",
             "Write vercel.json with the CSP for the realtime endpoints"}
HEARD = 0.05  # the fake microphone's beep peaks near 0.5; silence and comfort noise stay far below


@pytest.fixture(scope="module")
def stack(sites):
    converged = sites("debian12")
    assert converged.first.returncode == 0, converged.first.output[-3000:]
    return converged


@pytest.fixture(scope="module")
def csp(stack, tmp_path_factory) -> str:
    """The policy the Vercel play writes into the app's vercel.json for this stack."""
    app_dir = tmp_path_factory.mktemp("app")
    # Run alone, the play is given the secrets the livekit and socket plays settled on (without
    # them it would rightly sync a project without them).
    view = stack.stack()
    keys = app_dir.parent / f"{app_dir.name}-keys.json"
    keys.write_text(json.dumps({"flowspace_livekit_api_key": view.livekit_key,
                                "flowspace_livekit_api_secret": view.livekit_secret,
                                "flowspace_socket_auth_secret": view.socket_secret,
                                "vercel_app_dir": str(app_dir)}))
    run = run_playbook(stack.inventory, "playbooks/vercel.yml", "-e", f"@{stack.extra}", "-e", f"@{keys}",
                       timeout=300)
    assert run.returncode == 0, run.output[-3000:]
    # The app folder's files only: the project's variables and deployments are as site.yml left them.
    assert set(run.changed("localhost")) == APP_FILES, run.changed_tasks
    return csp_of(app_dir / "vercel.json")


@pytest.fixture(scope="module")
def browser(stack, tmp_path_factory):
    names = {stack.socket_domain: stack.ip, stack.livekit_domain: stack.ip, stack.turn_domain: stack.ip}
    opened = Browser(tmp_path_factory.mktemp("browser"), names, stack.ca_file)
    yield opened
    opened.close()


def player_token(stack, name: str, space: str) -> str:
    secret = (stack.credentials / "socket" / "auth_secret").read_text().strip()
    return socket_tokens.sign(secret, f"browser-{name.lower()}", name, [space])


def join_space(page, stack, name: str, space: str) -> dict:
    return browser_client.join_space(page, f"https://{stack.socket_domain}", player_token(stack, name, space),
                                     space, name)


def join_room(page, stack, identity: str, room: str) -> dict:
    token = livekit_clients(stack).token(identity, room)
    return browser_client.join_room(page, f"wss://{stack.livekit_domain}", token)


def events_named(page, name: str, seconds: float = 10) -> list:
    deadline = time.monotonic() + seconds
    while True:
        found = [e["payload"] for e in page.evaluate("flowspace.events()") if e["name"] == name]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def assert_no_policy_violation(*pages) -> None:
    for page in pages:
        assert page.evaluate("flowspace.violations()") == [], page.console_lines
        console = page.console_lines
        assert not [line for line in console if "Content Security Policy" in line], console


def test_two_pages_meet_in_a_space_over_socketio(stack, browser, csp) -> None:
    space = f"browser-{uuid.uuid4().hex[:8]}"
    ada, bob = browser.page(APP_ORIGIN, csp), browser.page(APP_ORIGIN, csp)
    try:
        join_space(ada, stack, "Ada", space)
        joined = join_space(bob, stack, "Bob", space)
        assert sorted(m["name"] for m in joined["members"]) == ["Ada", "Bob"], joined
        bob.evaluate("flowspace.move(5, 6)")
        ada.evaluate("flowspace.chat('hello from a browser')")
        moves = [m for batch in events_named(ada, "players:moved") for m in batch["moves"]]
        assert {"id": joined["self"], "x": 5, "y": 6} in moves, moves
        chats = events_named(bob, "chat:message")
        assert [c["text"] for c in chats] == ["hello from a browser"], chats
        assert_no_policy_violation(ada, bob)
    finally:
        for page in (ada, bob):
            page.context.close()


def refused_for_origin(stack) -> float:
    """The socket server's own count of requests it refused for their Origin."""
    script = ("import urllib.request; print(urllib.request.urlopen("
              "'http://127.0.0.1:9464/metrics', timeout=5).read().decode())")
    metrics = stack.host.exec("python3", "-c", script).stdout
    found = re.search(r'^flowspace_requests_refused_total\{[^}]*reason="origin"[^}]*\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_page_from_another_origin_is_refused(stack, browser, csp) -> None:
    space = f"browser-{uuid.uuid4().hex[:8]}"
    page = browser.page("https://elsewhere.flowspace.test", csp)
    before = refused_for_origin(stack)
    try:
        with pytest.raises(Exception, match="connect_error"):
            join_space(page, stack, "Eve", space)
    finally:
        page.context.close()
    # Refused by the server for its Origin, not lost on the way (DNS, TLS, a closed port).
    assert refused_for_origin(stack) > before


def livekit_clients(stack) -> LiveKitClients:
    view = stack.stack()
    return LiveKitClients(view.livekit_domain, view.address, view.ca_file,
                          view.livekit_key, view.livekit_secret)


def call(stack, browser, csp, room: str) -> tuple[list, list]:
    """Two pages join `room` with their microphones; returns the level each heard and the
    candidate pairs each selected."""
    pages = [browser.page(APP_ORIGIN, csp) for _ in range(2)]
    try:
        for number, page in enumerate(pages):
            join_room(page, stack, f"page-{number}", room)
        levels = [page.evaluate("flowspace.heardLevel(4000)") for page in pages]
        pairs = [page.evaluate("flowspace.selectedPairs()") for page in pages]
        assert_no_policy_violation(*pages)
        return levels, pairs
    finally:
        for page in pages:
            page.evaluate("flowspace.leave()")
            page.context.close()


def test_two_pages_hear_each_other_over_livekit(stack, browser, csp) -> None:
    levels, pairs = call(stack, browser, csp, f"browser-{uuid.uuid4().hex[:8]}")
    print(f"\nlevels heard {levels}; selected pairs {json.dumps(pairs)}")
    assert len(levels) == 2 and all(level > HEARD for level in levels), levels
    assert len(pairs) == 2 and all(pairs), f"each page selected a candidate pair: {pairs}"
    assert all(pair["state"] == "succeeded" for page in pairs for pair in page), pairs


def firewall(stack, *rules: list[str]):
    """Extra INPUT rules on the host while a test runs. By interface, not by source: WebRTC
    sends from every local address of the machine the browser runs on."""
    for rule in rules:
        stack.host.exec("iptables", "-I", "INPUT", "-i", "eth0", *rule, "-j", "DROP")
    try:
        yield
    finally:
        for rule in rules:
            stack.host.exec("iptables", "-D", "INPUT", "-i", "eth0", *rule, "-j", "DROP")


NO_UDP = ["-p", "udp", "!", "--sport", "53"]  # DNS answers aside
ONLY_TCP_443 = ["-p", "tcp", "!", "--dport", "443"]


@pytest.fixture
def udp_dropped(stack):
    """A network that lets UDP nowhere."""
    yield from firewall(stack, NO_UDP)


@pytest.fixture
def only_tcp_443(stack):
    """A network that lets only TCP 443 out (offices, hotels, campuses)."""
    yield from firewall(stack, NO_UDP, ONLY_TCP_443)


def test_without_udp_the_call_goes_over_ice_tcp(stack, browser, csp, udp_dropped) -> None:
    levels, pairs = call(stack, browser, csp, f"browser-tcp-{uuid.uuid4().hex[:8]}")
    print(f"\nlevels heard {levels}; selected pairs {json.dumps(pairs)}")
    assert all(level > HEARD for level in levels), levels
    remotes = [pair["remote"] for page in pairs for pair in page]
    assert remotes and all(r["protocol"] == "tcp" and r["port"] == 7881 for r in remotes), pairs


def test_with_only_tcp_443_the_call_goes_through_turn_over_tls(stack, browser, csp, only_tcp_443) -> None:
    """LiveKit hands out turns:<turn domain>:443; the edge's Caddy ends TLS for that name and
    relays it to LiveKit's TURN, while the HTTPS sites keep answering on the same port."""
    levels, pairs = call(stack, browser, csp, f"browser-turn-{uuid.uuid4().hex[:8]}")
    print(f"\nlevels heard {levels}; selected pairs {json.dumps(pairs)}")
    assert all(level > HEARD for level in levels), levels
    locals_ = [pair["local"] for page in pairs for pair in page]
    assert locals_ and all(c["type"] == "relay" and c["relayProtocol"] == "tls" for c in locals_), pairs
    page = browser.page(APP_ORIGIN, csp)
    try:
        joined = join_space(page, stack, "Cy", f"browser-{uuid.uuid4().hex[:8]}")
        assert joined["ok"], joined
    finally:
        page.context.close()


def test_the_policy_is_enforced_an_endpoint_missing_from_it_is_blocked(stack, browser, csp) -> None:
    """The pages above pass under the rendered policy because it names the realtime endpoints,
    not because no policy applies: without the LiveKit site, the same join is blocked."""
    narrowed = " ".join(part for part in csp.split() if stack.livekit_domain not in part)
    page = browser.page(APP_ORIGIN, narrowed)
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK's error wording is not ours
            join_room(page, stack, "blocked", "blocked-room")
        blocked = page.evaluate("flowspace.violations()")
        assert {"directive": "connect-src", "blocked": f"wss://{stack.livekit_domain}"} in blocked, blocked
    finally:
        page.context.close()
