"""An OCI API emulator for one test, with an API key the SDK signs with."""

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labkit.standins import oci_emulator


@dataclass
class OciStandIn:
    url: str
    account: dict
    key_file: Path
    fingerprint: str
    server: object

    def settings(self) -> dict:
        """The extra vars a playbook needs to reach it."""
        return {
            "oci_compartment_id": self.account["compartment"],
            "oci_tenancy": self.account["tenancy"],
            "oci_user": self.account["user"],
            "oci_fingerprint": self.fingerprint,
            "oci_key_file": str(self.key_file),
            "oci_region": self.account["region"],
            "oci_service_endpoint": self.url,
        }

    def sdk_config(self, **override) -> dict:
        """The SDK's config for this emulator's tenancy and key (OVERRIDE replaces entries)."""
        return {"tenancy": self.account["tenancy"], "user": self.account["user"],
                "region": self.account["region"], "fingerprint": self.fingerprint,
                "key_file": str(self.key_file), **override}

    def _control(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the loopback emulator
            f"{self.url}/_emulator/{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read() or b"null")

    def requests(self) -> list[dict]:
        return self._control("GET", "requests")

    def writes(self) -> list[dict]:
        return [r for r in self.requests() if r["method"] != "GET"]

    def clear_requests(self) -> None:
        self._control("DELETE", "requests")

    def inject(self, *faults: dict) -> None:
        self._control("POST", "faults", list(faults))

    def state(self) -> dict:
        return self._control("GET", "state")

    def configure(self, **settings) -> None:
        """The emulator's behaviour (transition_seconds, page_size, launch_outcome)."""
        self._control("POST", "settings", settings)


def start(tmp_path: Path, boot=None, halt=None) -> OciStandIn:
    private, public = oci_emulator.new_api_key()
    key_file = tmp_path / "oci_api_key.pem"
    key_file.write_bytes(private)
    key_file.chmod(0o600)
    server, account = oci_emulator.serve(0, [public], boot=boot, halt=halt)
    return OciStandIn(account["url"], account, key_file, oci_emulator.fingerprint_of(public), server)
