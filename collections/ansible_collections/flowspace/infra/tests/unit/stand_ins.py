"""The API stand-ins of labkit (Oracle's and Vercel's) in this process, for the modules' unit
tests, a public DNS resolver's stand-in, and the virtual clock the modules sleep on there."""

import functools
import socket
import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from labkit.clients.vercel_client import EmulatorClient
from labkit.standins import oci_emulator, vercel_emulator

# One RSA key for the whole run (making one takes a noticeable moment).
api_key = functools.lru_cache(maxsize=1)(oci_emulator.new_api_key)


class OciApi:
    """The OCI API emulator, with an API key the SDK signs with."""

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
        stop(self.server)


def stop(server):
    # shutdown() waits out serve_forever's half-second poll; nothing needs that wait.
    threading.Thread(target=server.shutdown, daemon=True).start()


class VercelApi(EmulatorClient):
    """The Vercel API emulator with one project; the emulator's own client for its control side."""

    TOKEN = "unit-test-token"  # noqa: S105 - the emulator's

    def __init__(self):
        self.server = vercel_emulator.serve(0, [self.TOKEN])
        super().__init__(f"http://127.0.0.1:{self.server.server_address[1]}", self.TOKEN)
        self.project = self.add_project("flowspace")

    def connection(self, **override):
        return {"token": self.TOKEN, "api_url": self.base_url, "project": "flowspace", **override}

    def writes(self):
        return [r for r in self.requests() if r["method"] != "GET"]

    def stored(self):
        return {f"{e['key']}@{','.join(e['target'])}": e for e in self.stored_envs(self.project["id"])}

    def production_deployments(self):
        return [d["state"] for d in self.deployments(self.project["id"]) if d["target"] == "production"]

    def close(self):
        stop(self.server)


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


class DnsServer:
    """A DNS server on a loopback UDP port answering from `records` ({name: {"A": [...],
    "AAAA": [...]} or {"CNAME": target}}), NXDOMAIN for other names; `silent` drops questions."""

    def __init__(self, records=None):
        self.records = records or {}
        self.silent = False
        self.questions = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            kind = dns.rdatatype.to_text(question.rdtype)
            self.questions.append((question.name.to_text(omit_final_dot=True), kind))
            if not self.silent:
                self.socket.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query):
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        while name in self.records and "CNAME" in self.records[name]:
            target = self.records[name]["CNAME"]
            response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "CNAME", target + "."))
            name = target
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        values = self.records[name].get(kind, [])
        if values:
            response.answer.append(dns.rrset.from_text_list(name + ".", 60, "IN", kind, values))
        return response

    def close(self):
        self.socket.close()
