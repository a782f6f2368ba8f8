"""The deployed stack as its users meet it: each site over HTTPS with its certificate, two
Socket.io players in a space, two LiveKit participants in a room, two browser pages doing both,
and the Vercel project's environment. `./flowspace lab` prints this after converging; the
end-to-end tests assert on the same findings.

    python -m labkit stack-check       (the lab: inventories/lab, Pebble, the Vercel emulator)
"""

import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from labkit.clients import edge_client, socket_tokens
from labkit.clients.livekit_clients import LiveKitClients
from labkit.clients.socketio_client import Player
from labkit.clients.vercel_client import EmulatorClient
from labkit.lab import hosts
from labkit.lab.inventory import Inventory
from labkit.standins import pebble, vercel_emulator

SENSITIVE = ("SECRET", "TOKEN", "KEY")


@dataclass
class Stack:
    address: str  # the edge host's address; names are pinned to it, never resolved
    socket_domain: str
    livekit_domain: str
    app_origin: str
    ca_file: str  # what clients trust: the ACME server's root
    livekit_key: str
    livekit_secret: str
    socket_secret: str  # the key the app signs the socket server's join tokens with
    vercel: EmulatorClient
    vercel_project: str
    turn_domain: str = ""  # TURN over TLS, when the stack has it


def app_policy(stack: Stack) -> str:
    """The app's Content-Security-Policy as the Vercel play writes it into vercel.json
    (playbooks/vercel.yml's connect-src; tests/test_browsers.py reads the rendered file)."""
    sources = [f"{scheme}://{domain}" for domain in (stack.socket_domain, stack.livekit_domain)
               for scheme in ("https", "wss")]
    return "connect-src " + " ".join(["'self'", *sources])


def sites(stack: Stack) -> list[dict]:
    """Each public site: its certificate (verified against the CA file) and its answer."""
    found = []
    for name, domain, path in (("socket", stack.socket_domain, "/healthz"),
                               ("livekit", stack.livekit_domain, "/")):
        certificate = edge_client.certificate(stack.address, domain, stack.ca_file)
        answer = edge_client.request(stack.address, domain, path, ca_file=stack.ca_file, timeout=5)
        found.append({
            "site": name, "url": f"https://{domain}{path}", "status": answer.status,
            "body": answer.body.decode(errors="replace")[:60],
            "issuer": certificate["issuer"].get("commonName", "?"),
            "names": certificate["names"], "not_after": certificate["not_after"],
            "ok": answer.status == 200 and domain in certificate["names"],
        })
    return found


def socket_round_trip(stack: Stack) -> dict:
    """Two players join one space over wss; one moves and chats, the other must see both."""
    space = f"check-{uuid.uuid4().hex[:8]}"
    url = f"https://{stack.socket_domain}"
    started = time.monotonic()
    def token(name: str) -> str:
        return socket_tokens.sign(stack.socket_secret, f"check-{name.lower()}", name, [space])

    ada = Player(url, stack.address, stack.ca_file, stack.app_origin, token("Ada"))
    try:
        bob = Player(url, stack.address, stack.ca_file, stack.app_origin, token("Bob"))
        try:
            ada.ask("space:join", {"spaceId": space, "name": "Ada"})
            joined = bob.ask("space:join", {"spaceId": space, "name": "Bob"})
            bob.ask("player:move", {"x": 5, "y": 6})
            moved = ada.next_move_of(joined["self"])
            ada.ask("chat:message", {"text": "hello from the stack check"})
            chat = bob.next("chat:message")
        finally:
            bob.close()
    finally:
        ada.close()
    return {
        "space": space, "members": sorted(m["name"] for m in joined["members"]),
        "move_seen": {k: moved[k] for k in ("x", "y")}, "chat_seen": chat["text"],
        "seconds": round(time.monotonic() - started, 2),
        "ok": moved == {"id": joined["self"], "x": 5, "y": 6} and chat["name"] == "Ada",
    }


def livekit_join(stack: Stack, seconds: float = 30) -> dict:
    """Two participants join one room over wss; one speaks, the other must hear it."""
    clients = LiveKitClients(stack.livekit_domain, stack.address, stack.ca_file,
                             stack.livekit_key, stack.livekit_secret)
    room = f"check-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="flowspace-check-") as work:
        heard = clients.exchange_audio(room, Path(work), seconds)
    return {"room": room, **heard, "ok": heard["exit"] == 0 and heard.get("from") == "speaker"}


def browser_visit(stack: Stack) -> dict:
    """Two headless Chromium pages at the app origin, under the app's policy, meet in a space
    and hear each other in a LiveKit room (labkit/clients/browser.py)."""
    from labkit.clients import browser  # noqa: PLC0415 - Playwright only when this check runs

    space = room = f"check-browser-{uuid.uuid4().hex[:8]}"
    domains = (stack.socket_domain, stack.livekit_domain, stack.turn_domain)
    names = {domain: stack.address for domain in domains if domain}
    clients = LiveKitClients(stack.livekit_domain, stack.address, stack.ca_file,
                             stack.livekit_key, stack.livekit_secret)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flowspace-browser-") as work:
        chromium = browser.Browser(Path(work), names, stack.ca_file)
        try:
            pages = [chromium.page(stack.app_origin, app_policy(stack)) for _ in range(2)]
            for number, page in enumerate(pages):
                name = f"Page {number}"
                token = socket_tokens.sign(stack.socket_secret, f"browser-{number}", name, [space])
                joined = browser.join_space(page, f"https://{stack.socket_domain}", token, space, name)
                room_token = clients.token(f"page-{number}", room)
                browser.join_room(page, f"wss://{stack.livekit_domain}", room_token)
            levels = [round(page.evaluate("flowspace.heardLevel(3000)"), 2) for page in pages]
            violations = [v for page in pages for v in page.evaluate("flowspace.violations()")]
            for page in pages:
                page.evaluate("flowspace.leave()")
        finally:
            chromium.close()
    return {"members": len(joined["members"]), "levels": levels, "violations": violations,
            "seconds": round(time.monotonic() - started, 2),
            "ok": len(joined["members"]) == 2 and min(levels) > 0.05 and not violations}


def vercel_environment(stack: Stack) -> dict:
    """The project's production variables (values of secrets left out) and its deployments."""
    project = stack.vercel.call("GET", f"/v9/projects/{stack.vercel_project}").body
    stored = stack.vercel.stored_envs(project["id"])
    deployments = stack.vercel.deployments(project["id"])
    production = {e["key"]: e for e in stored if "production" in e["target"]}
    return {
        "project": project["name"],
        "variables": {key: ("(" + e["type"] + ")" if any(s in key for s in SENSITIVE) else e["value"])
                      for key, e in sorted(production.items())},
        "types": {key: e["type"] for key, e in sorted(production.items())},
        "deployments": len(deployments),
        "latest_state": deployments[-1]["state"] if deployments else None,
        "latest_built_with": sorted(deployments[-1]["env"]) if deployments else [],
        "ok": bool(deployments) and sorted(deployments[-1]["env"]) == sorted(production),
    }


def check(stack: Stack) -> dict:
    """Every check; one that raises is reported as failed with its error, the rest still run."""
    findings = {}
    for name, run in (("sites", sites), ("socket", socket_round_trip), ("livekit", livekit_join),
                      ("browser", browser_visit), ("vercel", vercel_environment)):
        try:
            findings[name] = run(stack)
        except Exception as error:  # noqa: BLE001 - a failed check is a finding, not a crash
            findings[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return findings


def passed(findings: dict) -> bool:
    return all(all(site["ok"] for site in found) if isinstance(found, list) else found["ok"]
               for found in findings.values())


def report(findings: dict) -> str:
    mark = {True: "ok  ", False: "FAIL"}
    lines = []
    sites_found = findings["sites"]
    if isinstance(sites_found, dict):
        lines.append(f"{mark[False]} sites: {sites_found['error']}")
    else:
        for site in sites_found:
            lines.append(f"{mark[site['ok']]} {site['url']} -> {site['status']} {site['body']!r}, "
                         f"certificate for {', '.join(site['names'])} issued by {site['issuer']!r} "
                         f"(until {site['not_after']})")
    socket = findings["socket"]
    lines.append(f"{mark[socket['ok']]} socket.io: " + (socket.get("error") or (
        f"{' and '.join(socket['members'])} met in space {socket['space']}; Ada saw Bob move to "
        f"{socket['move_seen']}, Bob read {socket['chat_seen']!r} ({socket['seconds']} s)")))
    media = findings["livekit"]
    lines.append(f"{mark[media['ok']]} livekit: " + (media.get("error") or (
        f"two participants joined room {media['room']} after {media.get('connected_after')} s; "
        f"the listener heard {media['frames']} frames of the speaker's tone (peak {media['peak']}) "
        f"within {media.get('elapsed')} s"
        + ("" if media["ok"] else
           f" (participants' exit {media.get('exit')}, heard from {media.get('from')!r})"))))
    seen = findings["browser"]
    lines.append(f"{mark[seen['ok']]} browser: " + (seen.get("error") or (
        f"two Chromium pages at the app origin met in a space ({seen['members']} members) and heard each "
        f"other in a room (levels {seen['levels']}), {len(seen['violations'])} CSP violation(s), "
        f"{seen['seconds']} s")))
    app = findings["vercel"]
    lines.append(f"{mark[app['ok']]} vercel: " + (app.get("error") or (
        f"project {app['project']}, {app['deployments']} deployment(s), the latest "
        f"{app['latest_state']} and built with every production variable")))
    lines.extend(f"       {key}={value}" for key, value in app.get("variables", {}).items())
    return "\n".join(lines)


def lab_stack() -> Stack:
    """The lab as inventories/lab describes it (its first host is the edge), with the keys
    where the roles' settings keep them."""
    lab = Inventory()
    name = lab.hosts()[0]
    livekit_keys = Path(lab.value(name, "livekit_credentials_dir"))
    socket_keys = Path(lab.value(name, "socket_server_credentials_dir"))
    return Stack(
        address=hosts.Host(name, "", 0).ip_address(),
        socket_domain=lab.value(name, "flowspace_socket_domain"),
        livekit_domain=lab.value(name, "flowspace_livekit_domain"),
        app_origin=lab.value(name, "flowspace_app_origin"),
        ca_file=str(pebble.ensure_running().issuing_chain_bundle()),
        livekit_key=(livekit_keys / "api_key").read_text().strip(),
        livekit_secret=(livekit_keys / "api_secret").read_text().strip(),
        socket_secret=(socket_keys / "auth_secret").read_text().strip(),
        vercel=EmulatorClient(vercel_emulator.LAB_URL, vercel_emulator.LAB_TOKEN),
        vercel_project=vercel_emulator.LAB_PROJECT,
        turn_domain=lab.value(name, "flowspace_turn_domain") or "",
    )


def main(argv: list[str]) -> int:
    findings = check(lab_stack())
    if "--json" in argv:
        print(json.dumps(findings, indent=2))
    else:
        print(report(findings))
    return 0 if passed(findings) else 1

