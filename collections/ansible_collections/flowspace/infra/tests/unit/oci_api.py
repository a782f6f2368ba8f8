"""The OCI API emulator (labkit.standins.oci_emulator) in this process, with an API key the
SDK signs with: what the OCI modules' unit tests talk to."""

import functools
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from labkit.standins import oci_emulator


@functools.lru_cache(maxsize=1)
def api_key():
    """One RSA key for the whole run (making one takes a noticeable moment)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


class OciApi:
    def __init__(self, tmp_path):
        private, public = api_key()
        self.key_file = tmp_path / "oci_api_key.pem"
        self.key_file.write_bytes(private)
        self.key_file.chmod(0o600)
        self.server, self.account = oci_emulator.serve(0, [public])
        self.state = self.server.RequestHandlerClass.state
        # Lifecycle moves on at the next read: the tests wait for states, not for time.
        self.state.transition_seconds = 0
        self.fingerprint = oci_emulator.fingerprint_of(public)

    def connection(self, **override):
        """The options every OCI module takes, for this emulator."""
        return {
            "compartment_id": self.account["compartment"],
            "tenancy": self.account["tenancy"],
            "user": self.account["user"],
            "fingerprint": self.fingerprint,
            "key_file": str(self.key_file),
            "region": self.account["region"],
            "service_endpoint": self.account["url"],
            "wait_timeout": 10,
            **override,
        }

    def requests(self):
        with self.state.lock:
            return list(self.state.requests)

    def writes(self):
        return [r for r in self.requests() if r["method"] != "GET"]

    def clear(self):
        with self.state.lock:
            self.state.requests.clear()

    def inject(self, *faults):
        with self.state.lock:
            self.state.faults.extend(dict(f) for f in faults)

    def alive(self, kind):
        gone = ("TERMINATING", "TERMINATED")
        with self.state.lock:
            return [r for r in self.state.resources[kind].values() if r.get("lifecycleState") not in gone]

    def close(self):
        # shutdown() waits out serve_forever's half-second poll; nothing needs that wait.
        threading.Thread(target=self.server.shutdown, daemon=True).start()


class VirtualClock:
    """Stands in for the `time` module inside the OCI modules: sleeping moves the clock on at
    once, so waits, back-offs and deadlines keep their logic without taking their time."""

    def __init__(self):
        self.slept = []
        self._offset = 0.0

    def sleep(self, seconds):
        self.slept.append(seconds)
        self._offset += seconds

    def monotonic(self):
        return time.monotonic() + self._offset

    def time(self):
        return time.time() + self._offset
