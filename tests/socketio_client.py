"""Real python-socketio clients of a deployed socket server, reached through Caddy by its
name: the name is resolved to the test host's address inside this process only (like curl
--resolve), and TLS is verified against the given CA file (Pebble's root)."""

import contextlib
import queue
import socket
from collections.abc import Iterator

import requests
import socketio

_overrides: dict[str, str] = {}
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    return _real_getaddrinfo(_overrides.get(host, host), *args, **kwargs)


@contextlib.contextmanager
def resolving(name: str, address: str) -> Iterator[None]:
    _overrides[name] = address
    socket.getaddrinfo = _getaddrinfo
    try:
        yield
    finally:
        _overrides.pop(name, None)
        if not _overrides:
            socket.getaddrinfo = _real_getaddrinfo


class Player:
    """A socket.io client that records every event it receives."""

    def __init__(self, url: str, ca_file: str, origin: str | None):
        session = requests.Session()
        session.verify = ca_file
        # websocket-client sends an Origin of its own (the target URL) unless told which to send.
        origin_option = {"origin": origin} if origin else {"suppress_origin": True}
        self.client = socketio.Client(http_session=session, reconnection=False,
                                      websocket_extra_options=origin_option)
        self.events: queue.Queue = queue.Queue()
        for event in ("space:member-joined", "space:member-left", "player:moved", "chat:message"):
            self.client.on(event, lambda payload, event=event: self.events.put((event, payload)))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def ask(self, event: str, payload) -> dict:
        return self.client.call(event, payload, timeout=10)

    def next(self, event: str, timeout: float = 5) -> dict:
        while True:
            name, payload = self.events.get(timeout=timeout)
            if name == event:
                return payload

    def close(self) -> None:
        self.client.disconnect()
