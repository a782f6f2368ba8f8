"""LiveKit clients of a deployed server, through Caddy with Pebble's certificates: the server
API (livekit-api, in this process, with the name pinned to the host's address) and two
participants exchanging audio (the RTC SDK, in a process of its own, see below)."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from livekit import api

from labkit.clients.pinned_http import pinned_session

PARTICIPANTS = Path(__file__).with_name("livekit_participants.py")


class LiveKitClients:
    def __init__(self, domain: str, address: str, ca_file: str, key: str, secret: str):
        self.domain, self.address, self.ca_file = domain, address, ca_file
        self.key, self.secret = key, secret

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
        SSL_CERT_FILE pointing at the test CA: nothing outside that process changes."""
        hosts = hosts_dir / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n{self.address} {self.domain}\n")
        # Root may make the mount namespace directly; anyone else gets it inside a user namespace.
        as_user = [] if os.geteuid() == 0 else ["--map-root-user"]
        command = ["unshare", *as_user, "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), sys.executable, script, *args]
        return command, {**os.environ, "SSL_CERT_FILE": self.ca_file}

    def _participants(self, room: str, hosts_dir: Path, seconds: float, stay: float = 0) -> tuple[list, dict]:
        return self.pinned_command(hosts_dir, str(PARTICIPANTS), f"wss://{self.domain}",
                                   self.token("speaker", room), self.token("listener", room), str(seconds),
                                   str(stay))

    def exchange_audio(self, room: str, hosts_dir: Path, seconds: float = 30) -> dict:
        """Two participants join `room` over wss; one speaks, the other must hear it."""
        command, env = self._participants(room, hosts_dir, seconds)
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
