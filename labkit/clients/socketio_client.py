"""Real Socket.io clients of a deployed socket server, reached through Caddy by its name: the
name is pinned to the test host's address for this client only (like curl --resolve), and TLS
is verified against the given CA file (Pebble's root).

The asyncio client is used, on an event loop of its own, behind a blocking facade: the
threaded client reads and writes one TLS socket from two threads at once, which OpenSSL does
not allow, and loses packets now and then over wss (python-engineio issue 461)."""

import asyncio
import threading
import time
from urllib.parse import urlsplit

import socketio

from labkit.clients.pinned_http import pinned_session

TIMEOUT = 10


class Player:
    """A Socket.io client over WebSocket that records every event it receives."""

    def __init__(self, url: str, address: str, ca_file: str, origin: str | None, token: str | None = None,
                 *, source: str | None = None):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.events: asyncio.Queue | None = None
        try:
            self._run(self._connect(url, (address, source), ca_file, origin, token))
        except BaseException:
            self._stop_loop()
            raise

    async def _connect(self, url: str, route: tuple[str, str | None], ca_file: str, origin: str | None,
                       token: str | None) -> None:
        """`route`: the edge's address, and the local address to leave from (None: any)."""
        self._session = pinned_session(urlsplit(url).hostname, route[0], ca_file, source=route[1])
        self.events = asyncio.Queue()
        # aiohttp sends no Origin unless told; browsers always do, so tests name one.
        self.client = socketio.AsyncClient(http_session=self._session, reconnection=False,
                                           websocket_extra_options={"origin": origin} if origin else {})
        for event in ("space:member-joined", "space:member-left", "players:moved", "chat:message",
                      "disconnect"):
            self.client.on(event, self._recorder(event))
        try:
            await self.client.connect(url, transports=["websocket"], wait_timeout=TIMEOUT,
                                      auth={"token": token} if token else None)
        except BaseException:
            await self._session.close()
            raise

    def _recorder(self, event: str):
        async def record(*payload) -> None:  # (disconnect gives a reason, or nothing on older clients)
            self.events.put_nowait((event, payload[0] if payload else None))
        return record

    def _run(self, coroutine, timeout: float = TIMEOUT + 5):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def ask(self, event: str, payload) -> dict:
        return self._run(self.client.call(event, payload, timeout=TIMEOUT))

    def next(self, event: str, timeout: float = 5) -> dict:
        return self.next_event((event,), timeout)[1]

    def next_event(self, events: tuple[str, ...], timeout: float = 5) -> tuple[str, dict]:
        """The next of `events` received (others before it are skipped): (name, payload)."""
        async def wait() -> tuple[str, dict]:
            while True:
                name, payload = await asyncio.wait_for(self.events.get(), timeout)
                if name in events:
                    return name, payload
        return self._run(wait(), timeout + 5)

    def next_move_of(self, player: str, timeout: float = 5) -> dict:
        """The next position of `player` in the server's per-tick batches of moves."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            batch = self.next("players:moved", left)
            for move in batch["moves"]:
                if move["id"] == player:
                    return move
        raise TimeoutError(f"no move of {player} within {timeout} s")

    def forget_events(self) -> None:
        """Drop what was received so far: the next reads see only what comes after."""
        async def drain() -> None:
            while not self.events.empty():
                self.events.get_nowait()
        self._run(drain())

    @property
    def connected(self) -> bool:
        return self.client.connected

    def close(self) -> None:
        async def disconnect() -> None:
            await self.client.disconnect()
            await self._session.close()
        try:
            self._run(disconnect())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
