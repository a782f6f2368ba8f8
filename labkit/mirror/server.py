"""Serve a mirror folder over HTTP on an address host containers reach (the Docker bridge
gateway), in a thread of the caller, quietly."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def serve(root: Path, address: str, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving ROOT; returns the server (shutdown() stops it) and its base URL."""
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer((address, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{address}:{server.server_address[1]}"
