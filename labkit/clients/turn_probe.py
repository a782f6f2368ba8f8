"""A TURN client over TLS (RFC 8656 on RFC 8489's messages), as a browser on a network that
lets only TCP 443 out uses LiveKit's TURN through the edge: `TurnClient` allocates a relay
with a participant's credentials (its first request learns the realm and nonce from the 401
a TURN server answers), and two of them pass data through their relays (`relay_round_trip`),
which proves the relaying itself.
"""

import hashlib
import hmac
import ipaddress
import os
import socket
import ssl
import struct

MAGIC_COOKIE = 0x2112A442
ALLOCATE_REQUEST, ALLOCATE_SUCCESS, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
PERMISSION_REQUEST, PERMISSION_SUCCESS = 0x0008, 0x0108
SEND_INDICATION, DATA_INDICATION = 0x0016, 0x0017
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015
XOR_PEER_ADDRESS, DATA, XOR_RELAYED_ADDRESS, REQUESTED_TRANSPORT = 0x0012, 0x0013, 0x0016, 0x0019
UDP = 17
TEXT = {ERROR_CODE: "reason", REALM: "realm", NONCE: "nonce"}


def attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def message(kind: int, transaction: bytes, *attributes: bytes) -> bytes:
    body = b"".join(attributes)
    return struct.pack("!HHI", kind, len(body), MAGIC_COOKIE) + transaction + body


def allocate_request(transaction: bytes) -> bytes:
    return message(ALLOCATE_REQUEST, transaction, attribute(REQUESTED_TRANSPORT, struct.pack("!B3x", UDP)))


def signed(kind: int, transaction: bytes, key: bytes, *attributes: bytes) -> bytes:
    """The message with MESSAGE-INTEGRITY: HMAC-SHA1 over it, its length counting the attribute."""
    unsigned = message(kind, transaction, *attributes)
    length = len(unsigned) - 20 + 24
    digest = hmac.new(key, unsigned[:2] + struct.pack("!H", length) + unsigned[4:], hashlib.sha1).digest()
    return message(kind, transaction, *attributes, attribute(MESSAGE_INTEGRITY, digest))


def xor_address(ip: str, port: int) -> bytes:
    address = ipaddress.ip_address(ip)
    if address.version != 4:
        raise ValueError(f"only IPv4 relays are checked here, not {ip}")
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC_COOKIE >> 16), int(address) ^ MAGIC_COOKIE)


def read_xor_address(value: bytes) -> tuple[str, int]:
    _, family, port, raw = struct.unpack("!BBHI", value[:8])
    if family != 1:
        raise ValueError("an IPv6 relay address (only IPv4 is checked here)")
    return str(ipaddress.IPv4Address(raw ^ MAGIC_COOKIE)), port ^ (MAGIC_COOKIE >> 16)


def parse(answer: bytes, transaction: bytes | None) -> dict:
    """The message's type, error code, textual attributes, addresses and data; raises on
    something that is not a STUN message (or not the answer to `transaction`, when given)."""
    if len(answer) < 20:
        raise ValueError(f"not a STUN message ({len(answer)} bytes)")
    kind, length, cookie = struct.unpack("!HHI", answer[:8])
    if cookie != MAGIC_COOKIE or (transaction is not None and answer[8:20] != transaction):
        raise ValueError("not a STUN answer to this request (magic cookie or transaction differ)")
    found: dict = {"type": kind}
    body, at = answer[20:20 + length], 0
    while at + 4 <= len(body):
        kind, size = struct.unpack("!HH", body[at:at + 4])
        value = body[at + 4:at + 4 + size]
        if kind == ERROR_CODE and size >= 4:
            found["error"] = value[2] * 100 + value[3]
            found["reason"] = value[4:].decode(errors="replace")
        elif kind in (REALM, NONCE):
            found[TEXT[kind]] = value.decode(errors="replace")
        elif kind == XOR_RELAYED_ADDRESS:
            found["relayed"] = read_xor_address(value)
        elif kind == XOR_PEER_ADDRESS:
            found["peer"] = read_xor_address(value)
        elif kind == DATA:
            found["data"] = value
        at += 4 + size + (-size % 4)  # attributes are padded to 4 bytes
    return found


def connect(address: str, domain: str, ca_file: str | None, port: int = 443,
            timeout: float = 10) -> ssl.SSLSocket:
    """TLS to address:port with `domain` as SNI, verified against ca_file (else the system's store)."""
    context = ssl.create_default_context(cafile=ca_file)
    raw = socket.create_connection((address, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=domain)
    except BaseException:
        raw.close()
        raise


def read_message(stream: ssl.SSLSocket) -> bytes:
    head = b""
    while len(head) < 20:
        chunk = stream.recv(20 - len(head))
        if not chunk:
            break
        head += chunk
    length = struct.unpack("!H", head[2:4])[0] if len(head) >= 4 else 0
    body = b""
    while len(body) < length:
        chunk = stream.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head + body


class TurnClient:
    """One TURN allocation over TLS with long-term credentials (a LiveKit participant's)."""

    def __init__(self, stream: ssl.SSLSocket, username: str, password: str):
        self.stream, self.username, self.password = stream, username, password
        self.realm = self.nonce = ""

    def _ask(self, kind: int, *attributes: bytes) -> dict:
        transaction = os.urandom(12)
        if self.nonce:
            # RFC 8489's long-term credential key (MD5 is the protocol's, not a choice).
            key = hashlib.md5(f"{self.username}:{self.realm}:{self.password}".encode()).digest()  # noqa: S324
            credentials = (attribute(USERNAME, self.username.encode()),
                           attribute(REALM, self.realm.encode()), attribute(NONCE, self.nonce.encode()))
            self.stream.sendall(signed(kind, transaction, key, *attributes, *credentials))
        else:
            self.stream.sendall(message(kind, transaction, *attributes))
        answer = parse(read_message(self.stream), transaction)
        if answer.get("error") in (401, 438) and answer.get("nonce") and answer["nonce"] != self.nonce:
            # The first request learns the realm and nonce; a stale nonce is renewed the same way.
            self.realm, self.nonce = answer.get("realm", self.realm), answer["nonce"]
            return self._ask(kind, *attributes)
        return answer

    def allocate(self) -> tuple[str, int]:
        answer = self._ask(ALLOCATE_REQUEST, attribute(REQUESTED_TRANSPORT, struct.pack("!B3x", UDP)))
        if answer["type"] != ALLOCATE_SUCCESS:
            raise RuntimeError(f"the TURN server refused the allocation: {answer.get('error')} "
                               f"{answer.get('reason', '')}".rstrip())
        return answer["relayed"]

    def permit(self, peer: tuple[str, int]) -> None:
        answer = self._ask(PERMISSION_REQUEST, attribute(XOR_PEER_ADDRESS, xor_address(*peer)))
        if answer["type"] != PERMISSION_SUCCESS:
            raise RuntimeError(f"the TURN server refused a permission for {peer[0]}: "
                               f"{answer.get('error')} {answer.get('reason')}")

    def send(self, peer: tuple[str, int], data: bytes) -> None:
        self.stream.sendall(message(SEND_INDICATION, os.urandom(12),
                                    attribute(XOR_PEER_ADDRESS, xor_address(*peer)), attribute(DATA, data)))

    def receive(self) -> dict:
        """The next Data indication: {peer, data}."""
        while True:
            found = parse(read_message(self.stream), None)
            if found["type"] == DATA_INDICATION:
                return found


def relay_round_trip(address: str, domain: str, ca_file: str | None, credentials: dict) -> dict:
    """Two allocations over TLS on port 443 with credentials {username, credential}; data sent
    through the first relay must arrive at the second, from the first relay's address."""
    username, password = credentials["username"], credentials["credential"]
    with connect(address, domain, ca_file) as one, connect(address, domain, ca_file) as other:
        first, second = TurnClient(one, username, password), TurnClient(other, username, password)
        first_relay, second_relay = first.allocate(), second.allocate()
        first.permit(second_relay)
        second.permit(first_relay)
        sent = b"flowspace relay check " + os.urandom(8).hex().encode()
        first.send(second_relay, sent)
        arrived = second.receive()
    return {"relays": [first_relay, second_relay], "from": arrived.get("peer"),
            "ok": arrived.get("data") == sent and arrived.get("peer") == first_relay}
