#!/usr/bin/env python3
"""Print, as JSON, the rooms this LiveKit server has people in: [{"name", "participants"}].

Usage: rooms_in_progress.py PORT KEY_FILE. Reads the API key and secret from LiveKit's own
key file (so no secret is on a command line), signs a short-lived token allowed to list
rooms, and asks the server's RoomService over its loopback Twirp API. Standard library only:
it runs with the host's python3 before a restart, to say whose calls the restart affects.
"""

import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.request


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(key: str, secret: str) -> str:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": key, "sub": key, "nbf": now - 5, "exp": now + 60, "video": {"roomList": True}}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def first_key(key_file: str) -> tuple[str, str]:
    with open(key_file) as keys:
        for line in keys:
            if ":" in line and not line.lstrip().startswith("#"):
                key, secret = line.split(":", 1)
                return key.strip(), secret.strip().strip("'\"")
    raise SystemExit(f"no API key in {key_file}")


def main() -> None:
    port, key_file = sys.argv[1], sys.argv[2]
    key, secret = first_key(key_file)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/twirp/livekit.RoomService/ListRooms",
        data=b"{}",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token(key, secret)}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a fixed loopback http URL
        rooms = json.load(response).get("rooms", [])
    busy = [
        {"name": r["name"], "participants": int(r.get("num_participants", r.get("numParticipants", 0)))}
        for r in rooms
    ]
    print(json.dumps([room for room in busy if room["participants"]]))


if __name__ == "__main__":
    main()
