"""./flowspace deploy (tools/deploy.py) on the controller: a step that fails stops the chain and
says what to fix, before anything later runs; the outside check stops at its first failing
check; the TURN client tells a TURN server's answer from anything else and signs what it asks.
The whole chain against the emulated cloud (and a real TURN server) runs in test_first_boot."""

import hashlib
import hmac
import os
import struct
import subprocess
import sys

import pytest
import yaml

from labkit.checks import outside
from labkit.clients import turn_probe
from support import REPO_ROOT, VENV_BIN

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0vZ7yj5uX9b9c7n3b6m0e7p7n9q8r5t4u3v2w1x0y9 admin@laptop"


def deploy(tmp_path, settings: dict) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    groups = {group: {"hosts": {"a1": {}}} for group in ("edge", "livekit", "socket")}
    stack = {"flowspace_socket_domain": "socket.example.com", "flowspace_livekit_domain": "lk.example.com"}
    inventory.write_text(yaml.safe_dump({"all": {
        "children": {"oci": {"hosts": {"a1": {"flowspace_admin_ssh_public_keys": [SSH_KEY]}},
                             "children": groups}},
        "vars": {**stack, **settings}}}))
    return subprocess.run([sys.executable, "tools/deploy.py", "-i", str(inventory)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"})


def test_a_failing_step_stops_the_chain_and_says_what_to_fix(tmp_path) -> None:
    run = deploy(tmp_path, {"oci_region": "eu-frankfurt-1", "oci_compartment_id": ""})
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("FAIL provision ("), run.stdout
    assert "oci_compartment_id" in lines[1], run.stdout
    assert lines[2].startswith("     to fix: check the OCI settings"), run.stdout
    assert not any(word in run.stdout for word in ("dns (", "site (", "check (")), run.stdout


def test_the_check_stops_at_its_first_failing_check() -> None:
    spec = outside.Spec(edge_address="127.0.0.1", socket_domain="socket.example.com",
                        livekit_domain="lk.example.com", app_origin="https://example.com", acme_ca="",
                        livekit_key="k", livekit_secret="s" * 32, socket_secret="t" * 48)
    said = []
    # Nothing listens on 127.0.0.1:443 here: the certificates cannot be read.
    assert outside.run(spec, None, say=said.append) is False
    [line] = said
    assert line.startswith("  FAIL certificates (") and "socket.example.com" in line, said


@pytest.mark.parametrize(("directory", "staging", "issuer"), [
    ("", False, "Let's Encrypt"),
    ("", True, "(STAGING) Let's Encrypt"),
    ("https://acme-staging-v02.api.letsencrypt.org/directory/", False, "(STAGING) Let's Encrypt"),
    ("https://pebble:14000/dir", True, None),  # the inventory's own CA wins; its issuer is any
])
def test_the_expected_issuer_follows_the_configured_directory(directory, staging, issuer) -> None:
    spec = outside.Spec("203.0.113.1", "s.example.com", "l.example.com", "", directory, "k", "s", "t",
                        acme_staging=staging)
    assert outside.ISSUERS.get(spec.directory) == issuer


def stun(kind: int, transaction: bytes, *attributes: tuple[int, bytes]) -> bytes:
    body = b"".join(struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attributes)
    return struct.pack("!HHI", kind, len(body), turn_probe.MAGIC_COOKIE) + transaction + body


def test_the_turn_client_reads_a_401_with_realm_and_nonce() -> None:
    transaction = bytes(range(12))
    request = turn_probe.allocate_request(transaction)
    assert struct.unpack("!HHI", request[:8]) == (turn_probe.ALLOCATE_REQUEST, 8, turn_probe.MAGIC_COOKIE)
    unauthorized = (turn_probe.ERROR_CODE, b"\0\0\x04\x01Unauthorized")
    answer = stun(turn_probe.ALLOCATE_ERROR, transaction, unauthorized, (turn_probe.REALM, b"livekit"),
                  (turn_probe.NONCE, b"abc123"))
    assert turn_probe.parse(answer, transaction) == {"type": turn_probe.ALLOCATE_ERROR, "error": 401,
                                                     "reason": "Unauthorized", "realm": "livekit",
                                                     "nonce": "abc123"}


def test_a_signed_request_carries_the_hmac_of_itself_with_its_own_length() -> None:
    """RFC 8489 14.5: the HMAC covers the message up to MESSAGE-INTEGRITY, its length field
    already counting that attribute's 24 bytes."""
    key, transaction = b"k" * 16, bytes(12)
    request = turn_probe.signed(turn_probe.ALLOCATE_REQUEST, transaction, key,
                                turn_probe.attribute(turn_probe.USERNAME, b"alice"))
    covered, integrity = request[:-24], request[-24:]
    assert struct.unpack("!HH", integrity[:4]) == (turn_probe.MESSAGE_INTEGRITY, 20)
    assert struct.unpack("!H", covered[2:4])[0] == len(request) - 20
    assert integrity[4:] == hmac.new(key, covered, hashlib.sha1).digest()


def test_relay_addresses_are_xored_with_the_magic_cookie() -> None:
    encoded = turn_probe.xor_address("192.0.2.10", 49152)
    assert encoded != struct.pack("!BBH4B", 0, 1, 49152, 192, 0, 2, 10)
    assert turn_probe.read_xor_address(encoded) == ("192.0.2.10", 49152)


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 400 Bad Request\r\n\r\n",  # an HTTPS site answering on the name instead
    b"",
])
def test_the_turn_client_refuses_what_is_not_a_stun_answer(answer) -> None:
    with pytest.raises(ValueError, match="STUN"):
        turn_probe.parse(answer, bytes(12))


def test_the_turn_client_refuses_an_answer_to_another_transaction() -> None:
    answer = stun(turn_probe.ALLOCATE_ERROR, bytes(12), (turn_probe.ERROR_CODE, b"\0\0\x04\x01"))
    with pytest.raises(ValueError, match="transaction"):
        turn_probe.parse(answer, bytes(range(12)))
