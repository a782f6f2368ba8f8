"""Join tokens for the FlowSpace Socket.io server, signed as the app signs them (HS256 JWT,
audience "flowspace-socket"; see server/README.md): what the lab's clients connect with."""

import base64
import hashlib
import hmac
import json
import time


def _part(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(secret: str, user: str, name: str, spaces="*", lifetime: int = 600, **claims) -> str:
    """A token for `user`, shown as `name`, admitted to `spaces` (a list of ids, or "*")."""
    body = {"aud": "flowspace-socket", "sub": user, "name": name, "spaces": spaces,
            "exp": int(time.time()) + lifetime, **claims}
    head = _part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _part(json.dumps(body).encode())
    signature = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_part(signature)}"
