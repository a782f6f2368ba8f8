"""LiveKit clients of a deployed server, through Caddy with Pebble's certificates: the server
API (livekit-api, in this process, with the name pinned to the host's address) and two
participants exchanging audio (the RTC SDK, in a process of its own, see below)."""

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from livekit import api

from labkit.clients.pinned_http import pinned_session

PARTICIPANTS = Path(__file__).with_name("livekit_participants.py")


def resolves_to(name: str, address: str) -> bool:
    """Whether the system's resolver already gives `address` for `name`."""
    try:
        return address in {info[4][0] for info in socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False


class LiveKitClients:
    def __init__(self, domain: str, address: str, ca_file: str | None, key: str, secret: str,  # noqa: PLR0917
                 other_names: tuple[str, ...] = ()):
        self.domain, self.address, self.ca_file = domain, address, ca_file
        self.key, self.secret = key, secret
        self.other_names = other_names  # pinned to the address too (the TURN name)

    def server_api(self, call: Callable[[api.LiveKitAPI], Awaitable], secret: str | None = None):
        """Run call(LiveKitAPI) against the server, signed with the deployed (or given) secret."""
        async def run():
            async with pinned_session(self.domain, self.address, self.ca_file) as session:
                client = api.LiveKitAPI(f"https://{self.domain}", self.key, secret or self.secret,
                                        session=session, failover=False)
                return await call(client)
        return asyncio.run(run())

    def token(self, identity: str, room: str) -> str:
        grants = api.VideoGrants(room_join=True, room=room)
        return api.AccessToken(self.key, self.secret).with_identity(identity).with_grants(grants).to_jwt()

    def pinned_command(self, hosts_dir: Path, script: str, *args: str) -> tuple[list, dict]:
        """The command line and environment that run `script` (an SDK client) with the name pinned.

        The SDK's native core resolves names and checks certificates the system way, so the
        clients run in a mount namespace of their own whose /etc/hosts names the host, with
        SSL_CERT_FILE pointing at the test CA: nothing outside that process changes. A name that
        already resolves to the address (a deployed stack's public DNS) needs no namespace, and
        no CA file means the system's trust store."""
        env = {**os.environ, **({"SSL_CERT_FILE": self.ca_file} if self.ca_file else {})}
        if resolves_to(self.domain, self.address):
            return [sys.executable, script, *args], env
        hosts = hosts_dir / "hosts"
        names = " ".join((self.domain, *self.other_names))
        hosts.write_text(f"127.0.0.1 localhost\n{self.address} {names}\n")
        # Root may make the mount namespace directly; anyone else gets it inside a user namespace.
        as_user = [] if os.geteuid() == 0 else ["--map-root-user"]
        command = ["unshare", *as_user, "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), sys.executable, script, *args]
        return command, env

    def _participants(self, room: str, hosts_dir: Path, seconds: float, stay: float = 0,
                      relay: bool = False) -> tuple[list, dict]:
        return self.pinned_command(hosts_dir, str(PARTICIPANTS), f"wss://{self.domain}",
                                   self.token("speaker", room), self.token("listener", room), str(seconds),
                                   str(stay), *(["--relay"] if relay else []))

    def exchange_audio(self, room: str, hosts_dir: Path, seconds: float = 30, relay: bool = False,  # noqa: PLR0913
                       relay_servers: list | None = None) -> dict:
        """Two participants join `room` over wss; one speaks, the other must hear it. With
        relay, the listener's media may only go through a TURN relay (ICE relay candidates), of
        relay_servers when given ([{urls, username, credential}])."""
        command, env = self._participants(room, hosts_dir, seconds, relay=relay)
        if relay_servers:
            env["FLOWSPACE_RELAY_ICE_SERVERS"] = json.dumps(relay_servers)
        run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False,
                             env=env)
        return self._result(run.stdout, run.stderr, run.returncode)

    @contextmanager
    def call_in_progress(self, room: str, hosts_dir: Path, stay: float) -> Iterator[subprocess.Popen]:
        """Two participants who heard each other stay in `room` up to `stay` seconds; yields once
        they are in the call, and ends the call (if still going) when the caller is done."""
        command, env = self._participants(room, hosts_dir, 40, stay)
        call = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            first = call.stdout.readline()
            if '"in_call"' not in first:
                out, err = call.communicate(timeout=60)
                raise AssertionError(f"the call did not start: {first}{out} {err[-2000:]}")
            yield call
        finally:
            if call.poll() is None:
                call.kill()
            call.wait(timeout=30)

    @staticmethod
    def _result(stdout: str, stderr: str, returncode: int) -> dict:
        lines = stdout.strip().splitlines()
        if not lines:
            raise AssertionError(f"the participants exited {returncode}: {stderr[-2000:]}")
        return json.loads(lines[-1]) | {"exit": returncode}
