"""A client of the edge as a browser would use it, pointed at one host's address.

Names are not resolved: every request goes to the given IP with the site's name as SNI and
Host header, and TLS is verified against the given CA file only (the test ACME root).

    python -m labkit edge-client IP DOMAIN CA_FILE [--path P] [--no-echo]
        -> JSON: status, redirect, headers, issuer, WebSocket echo
"""

import argparse
import base64
import json
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _read_response(stream) -> Response:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(1)
        if not chunk:
            break
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return Response(status, headers, _read_chunked(stream))
    body = b""
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = stream.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return Response(status, headers, body)


def _read_line(stream) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = stream.recv(1)
        if not chunk:
            break
        line += chunk
    return line


def _read_chunked(stream) -> bytes:
    """A chunked body (what Caddy forwards from upstreams that give no length)."""
    body = b""
    while True:
        size = int(_read_line(stream).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return body
        chunk = b""
        while len(chunk) < size + 2:  # the data and its CRLF
            more = stream.recv(size + 2 - len(chunk))
            if not more:
                return body + chunk
            chunk += more
        body += chunk[:size]


def tls_connect(ip: str, domain: str, ca_file: str, port: int = 443, timeout: float = 10) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=ca_file)
    raw = socket.create_connection((ip, port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname=domain)


def request(ip: str, domain: str, path: str = "/", *, ca_file: str | None = None, port: int | None = None,
            method: str = "GET", body: bytes = b"", timeout: float = 10) -> Response:
    """One HTTP/1.1 request over HTTPS (ca_file given) or plain HTTP."""
    if ca_file:
        stream = tls_connect(ip, domain, ca_file, port or 443, timeout)
    else:
        stream = socket.create_connection((ip, port or 80), timeout=timeout)
    with stream:
        stream.sendall((f"{method} {path} HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode())
        try:
            for start in range(0, len(body), 65536):
                stream.sendall(body[start:start + 65536])
        except (ConnectionError, ssl.SSLError):
            pass  # the server answered (a 413, say) before taking the whole body
        return _read_response(stream)


def certificate(ip: str, domain: str, ca_file: str) -> dict:
    """The verified certificate the site presents (issuer, subject names, serial)."""
    with tls_connect(ip, domain, ca_file) as stream:
        cert = stream.getpeercert()
    return {
        "issuer": dict(item for rdn in cert["issuer"] for item in rdn),
        "names": [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"],
        "serial": cert["serialNumber"],
        "not_after": cert["notAfter"],
    }


def wait_for_certificate(ip: str, domain: str, ca_file: str, timeout: float = 60) -> dict:
    """The site's certificate once it has one: Caddy orders them in the background."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return certificate(ip, domain, ca_file)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


class WebSocket:
    """A minimal RFC 6455 client: text messages, masked as clients must."""

    def __init__(self, ip: str, domain: str, ca_file: str, path: str = "/", timeout: float = 10):
        self.stream = tls_connect(ip, domain, ca_file, timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.stream.sendall((f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nUpgrade: websocket\r\n"
                             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = _read_response(self.stream)
        if response.status != 101:
            raise ConnectionError(f"WebSocket upgrade refused: HTTP {response.status}")

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        header = struct.pack("!B", 0x81) + (
            struct.pack("!B", 0x80 | length) if length < 126 else struct.pack("!BH", 0x80 | 126, length)
        )
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.stream.sendall(header + mask + masked)

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.stream.recv(count - len(data))
            if not chunk:
                raise ConnectionError("WebSocket closed by the server")
            data += chunk
        return data

    def receive(self) -> str:
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._exactly(8))[0]
        payload = self._exactly(length)
        if first & 0x0F == 0x8:
            raise ConnectionError("WebSocket closed by the server")
        return payload.decode()

    def echo(self, text: str) -> str:
        self.send(text)
        return self.receive()

    def close(self) -> None:
        self.stream.close()


def summary(ip: str, domain: str, ca_file: str, path: str = "/", echo: bool = True) -> dict:
    """What a browser would see of the site; `echo` also sends a WebSocket message and expects
    it back (the lab's stand-in upstreams echo; real services do not)."""
    plain = request(ip, domain, "/probe")
    secure = request(ip, domain, path, ca_file=ca_file)
    found = {
        "http_status": plain.status,
        "http_location": plain.headers.get("location", ""),
        "https_status": secure.status,
        "https_body": secure.body.decode(errors="replace"),
        "headers": secure.headers,
        "certificate": certificate(ip, domain, ca_file),
    }
    if echo:
        socket_ = WebSocket(ip, domain, ca_file)
        try:
            found["websocket_echo"] = socket_.echo("ping from edge_client")
        finally:
            socket_.close()
    return found


def main(argv: list[str]) -> int:
    arguments = argparse.ArgumentParser(prog="labkit edge-client",
                                        description="What a browser would see of one site on one host.")
    arguments.add_argument("ip")
    arguments.add_argument("domain")
    arguments.add_argument("ca_file")
    arguments.add_argument("--path", default="/", help="what to GET over HTTPS (default /)")
    arguments.add_argument("--no-echo", dest="echo", action="store_false",
                           help="skip the WebSocket echo (for real services rather than stand-ins)")
    given = arguments.parse_args(argv)
    print(json.dumps(summary(given.ip, given.domain, given.ca_file, given.path, given.echo), indent=2))
    return 0
