"""A bare LiveKit signalling connection: joins a room as a participant over wss and reads the
join response, which carries the ICE servers LiveKit hands that participant (its TURN entries,
with their credentials). The participant stays in the room until the block ends, so the
credentials stay good for a call made meanwhile."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from livekit.protocol import rtc as signal

from labkit.clients.pinned_http import pinned_session

PROTOCOL = 15  # the signalling protocol version the Python SDK speaks


async def _join(domain: str, address: str, ca_file: str | None, token: str, timeout: float):
    session = pinned_session(domain, address, ca_file)
    try:
        socket = await session.ws_connect(
            f"wss://{domain}/rtc?access_token={token}&protocol={PROTOCOL}&auto_subscribe=0", timeout=timeout)
        while True:
            message = await socket.receive(timeout)
            if message.type != aiohttp.WSMsgType.BINARY:
                answered = f"{message.type.name}: {message.data!r}"[:300]
                raise RuntimeError(f"LiveKit's signalling answered {answered}")
            response = signal.SignalResponse.FromString(message.data)
            if response.WhichOneof("message") == "join":
                servers = [{"urls": list(s.urls), "username": s.username, "credential": s.credential}
                           for s in response.join.ice_servers]
                return session, socket, servers
    except BaseException:
        await session.close()
        raise


@contextmanager
def joined(domain: str, address: str, ca_file: str | None, token: str, timeout: float = 15) -> Iterator[list]:
    """Yields the ICE servers of a participant (joined with `token`) who stays until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        session, socket, servers = asyncio.run_coroutine_threadsafe(
            _join(domain, address, ca_file, token, timeout), loop).result(timeout + 5)

        async def leave() -> None:
            await socket.close()
            await session.close()

        try:
            yield servers
        finally:
            asyncio.run_coroutine_threadsafe(leave(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def tls_relays(servers: list[dict]) -> list[dict]:
    """The TURN-over-TLS entries (turns: URLs) of an ICE server list, each with its credentials."""
    return [{**server, "urls": [url for url in server["urls"] if url.startswith("turns:")]}
            for server in servers if any(url.startswith("turns:") for url in server["urls"])]
