"""The deployed stack checked from outside, as a user's browser meets it (./flowspace deploy's
last step): each public name's certificate is valid and issued by the configured CA; two
players meet in a space with join tokens signed by the app's key; two LiveKit participants hear
each other; a participant limited to TURN relays gets media through, and the TURN name answers
TURN over TLS on 443.

What it checks comes from playbooks/check_spec.yml (the names, the edge's public address and
the keys the app signs with), written owner-only by tools/deploy.py.
"""

import argparse
import json
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from labkit.checks import stack_check
from labkit.clients import edge_client, livekit_signal, turn_probe
from labkit.clients.livekit_clients import LiveKitClients

# The organisation in the issuer of the certificates each well-known ACME directory issues.
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
ISSUERS = {LETS_ENCRYPT: "Let's Encrypt", LETS_ENCRYPT_STAGING: "(STAGING) Let's Encrypt"}
STAGING_ROOTS = "https://letsencrypt.org/docs/staging-environment/"


@dataclass
class Spec:
    edge_address: str
    socket_domain: str
    livekit_domain: str
    app_origin: str
    acme_ca: str
    livekit_key: str
    livekit_secret: str
    socket_secret: str
    turn_domain: str = ""
    acme_staging: bool = False

    @property
    def directory(self) -> str:
        """The ACME directory the edge's Caddy uses: the inventory's, else the caddy role's
        default (Let's Encrypt, its staging CA with flowspace_acme_staging)."""
        return self.acme_ca.rstrip("/") or (LETS_ENCRYPT_STAGING if self.acme_staging else LETS_ENCRYPT)

    @classmethod
    def read(cls, path: Path) -> "Spec":
        return cls(**json.loads(path.read_text()))

    def names(self) -> list[str]:
        return [name for name in (self.socket_domain, self.livekit_domain, self.turn_domain) if name]

    def stack(self, ca_file: str | None) -> stack_check.Stack:
        return stack_check.Stack(
            address=self.edge_address, socket_domain=self.socket_domain, livekit_domain=self.livekit_domain,
            app_origin=self.app_origin, ca_file=ca_file, livekit_key=self.livekit_key,
            livekit_secret=self.livekit_secret, socket_secret=self.socket_secret, vercel=None,
            vercel_project="", turn_domain=self.turn_domain)


def certificates(spec: Spec, ca_file: str | None) -> dict:
    """Each name's certificate, verified against ca_file (else the system's trust store) for that
    name, and issued by the organisation the configured ACME directory issues as."""
    expected = ISSUERS.get(spec.directory)
    found, ok = [], True
    for name in spec.names():
        try:
            certificate = edge_client.certificate(spec.edge_address, name, ca_file)
        except OSError as error:
            hint = (f" (staging certificates chain to Let's Encrypt's staging roots, which nothing trusts: "
                    f"give --ca-file with them, {STAGING_ROOTS})"
                    if spec.directory == LETS_ENCRYPT_STAGING and not ca_file else "")
            found.append(f"{name}: {error}{hint}")
            ok = False
            continue
        issuer = certificate["issuer"].get("organizationName") or certificate["issuer"].get("commonName", "?")
        right_issuer = expected is None or issuer == expected
        ok = ok and right_issuer and name in certificate["names"]
        found.append(f"{name}: issued by {issuer!r} until {certificate['not_after']}"
                     + ("" if right_issuer else f" (expected {expected!r}, from {spec.directory})"))
    return {"ok": ok, "detail": "; ".join(found)}


def socket_join(spec: Spec, ca_file: str | None) -> dict:
    found = stack_check.socket_round_trip(spec.stack(ca_file))
    return {"ok": found["ok"], "detail": f"{' and '.join(found['members'])} met in a space, saw a move "
                                         f"and a chat message ({found['seconds']} s)"}


def livekit_audio(spec: Spec, ca_file: str | None) -> dict:
    found = stack_check.livekit_join(spec.stack(ca_file))
    return {"ok": found["ok"], "detail": found.get("error") or (
        f"the listener heard {found['frames']} frames of the speaker within {found.get('elapsed')} s")}


def turn_relay(spec: Spec, ca_file: str | None) -> dict:
    """What a browser on a network that lets only TCP 443 out relies on: with the TURN
    credentials LiveKit hands a participant of a room, two allocations over TLS on the TURN
    name at 443 pass data through their relays; and a listener limited to relay candidates
    hears the speaker. (The SDK's own TURN client trusts only its built-in roots, so its relay
    is LiveKit's UDP one; a browser behind such a firewall takes the TLS one, as
    tests/test_browsers.py proves.)"""
    if not spec.turn_domain:
        return {"ok": True, "detail": "no flowspace_turn_domain: no TURN over TLS to check"}
    clients = LiveKitClients(spec.livekit_domain, spec.edge_address, ca_file, spec.livekit_key,
                             spec.livekit_secret, other_names=(spec.turn_domain,))
    room = f"check-relay-{uuid.uuid4().hex[:8]}"
    with livekit_signal.joined(spec.livekit_domain, spec.edge_address, ca_file,
                               clients.token("relay-credentials", room)) as servers:
        relays = livekit_signal.tls_relays(servers)
        if not relays:
            urls = [url for server in servers for url in server["urls"]]
            return {"ok": False, "detail": f"LiveKit offers no TURN over TLS (its ICE servers: {urls})"}
        passed = turn_probe.relay_round_trip(spec.edge_address, spec.turn_domain, ca_file, relays[0])
        if not passed["ok"]:
            return {"ok": False, "detail": f"TURN over TLS on {spec.turn_domain}:443 did not relay: {passed}"}
        with tempfile.TemporaryDirectory(prefix="flowspace-relay-") as work:
            heard = clients.exchange_audio(room, Path(work), 30, relay=True)
    candidate = heard.get("listener_candidate") or {}
    ok = heard["exit"] == 0 and candidate.get("type") == "relay"
    path = (f"through a {candidate['relay_protocol'].upper()} relay ({candidate['url']})" if ok
            else f"but not through a relay: {candidate}")
    return {"ok": ok, "detail": heard.get("error") or (
        f"TURN over TLS on {spec.turn_domain}:443 relayed data between two allocations "
        f"({', '.join(f'{ip}:{port}' for ip, port in passed['relays'])}); a relay-only listener heard "
        f"the speaker {path}")}


CHECKS = (("certificates", certificates), ("socket join", socket_join), ("livekit audio", livekit_audio),
          ("turn relay", turn_relay))


def run(spec: Spec, ca_file: str | None, say=print, only: tuple[str, ...] = ()) -> bool:
    """Every check in turn (those named in `only`, when given), each printed with its time;
    stops at the first that fails."""
    for name, check in CHECKS:
        if only and name not in only:
            continue
        started = time.monotonic()
        try:
            found = check(spec, ca_file)
        except Exception as error:  # noqa: BLE001 - a failed check is reported, not a crash
            found = {"ok": False, "detail": f"{type(error).__name__}: {error}"}
        seconds = time.monotonic() - started
        say(f"  {'ok  ' if found['ok'] else 'FAIL'} {name} ({seconds:.1f} s): {found['detail']}")
        if not found["ok"]:
            return False
    return True


def main(argv: list[str]) -> int:
    """outside SPEC.json [--ca-file PEM] [--only CHECK]...: the checks, with the spec
    playbooks/check_spec.yml writes (or one of the same fields); exit 1 when one fails."""
    parser = argparse.ArgumentParser(prog="labkit outside")
    parser.add_argument("spec", type=Path)
    parser.add_argument("--ca-file", default=None, help="the CA to trust (default: the system's store)")
    parser.add_argument("--only", action="append", default=[], choices=[name for name, _ in CHECKS])
    args = parser.parse_args(argv)
    return 0 if run(Spec.read(args.spec), args.ca_file, only=tuple(args.only)) else 1
