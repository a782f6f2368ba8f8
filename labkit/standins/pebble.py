"""A local ACME CA for the lab and the tests: Pebble plus its DNS server, pebble-challtestsrv.

Both run on this machine (Debian's `pebble` package). Pebble listens on the Docker bridge
gateway so host containers reach its directory, and validates HTTP-01/TLS-ALPN-01 for real:
it resolves each test domain through challtestsrv, where the tests register the container's
address, and connects to ports 80/443 of that container.

    python -m labkit pebble start | stop | status | add-a DOMAIN IP | issuing-root
"""

import datetime
import ipaddress
import json
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkit.lab import daemons, paths

ACME_PORT = 14000
MANAGEMENT_PORT = 15000
DNS_PORT = 8053
DNS_MANAGEMENT_PORT = 8055
# process name -> what its command line starts with
PROCESSES = {"pebble": b"pebble\0", "challtestsrv": b"pebble-challtestsrv"}


@dataclass
class Pebble:
    gateway: str
    state_dir: Path
    _zones: dict = field(default_factory=dict, repr=False)  # zone -> the (host, type) it serves

    @property
    def directory_url(self) -> str:
        return f"https://{self.gateway}:{ACME_PORT}/dir"

    @property
    def tls_root(self) -> Path:
        """The CA of Pebble's own HTTPS listener (what an ACME client must trust to talk to it)."""
        return self.state_dir / "tls-ca.pem"

    @property
    def log(self) -> Path:
        return self.state_dir / "pebble.log"

    def issuing_root(self) -> str:
        """PEM of the root Pebble signs certificates with (new on every Pebble start)."""
        return self._management("/roots/0")

    def issuing_chain_bundle(self) -> Path:
        """A CA file holding the issuing root: what a client that trusts only Pebble uses."""
        bundle = self.state_dir / "issuing-root.pem"
        bundle.write_text(self.issuing_root())
        return bundle

    def orders_for(self, *domains: str) -> int:
        """Orders that named these domains: Pebble validates a fresh authorization for each
        (authorization reuse is off), and logs the name as it does."""
        log = self.log.read_text(errors="replace")
        return sum(log.count(f'Pulled a task from the Tasks queue: &va.vaTask{{Identifier:acme.Identifier'
                             f'{{Type:"dns", Value:"{domain}"}}') for domain in domains)

    def add_a(self, domain: str, address: str) -> None:
        """Make the test DNS answer `domain` with `address` alone (what Pebble validates against).
        challtestsrv adds to a name's earlier addresses, so those are cleared first: a host
        re-created under the same name gets a new address."""
        host = domain.rstrip(".") + "."
        self._dns_management("clear-a", {"host": host})
        self._dns_management("add-a", {"host": host, "addresses": [address]})

    def serve_zone(self, zone: str, records: list[dict]) -> None:
        """Make the test DNS answer a zone's A and AAAA records as a DNS provider publishes
        them (records as Vercel's API lists them: name relative to the zone, type, value).
        A name of the zone no longer listed stops answering."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for record in records:
            if record.get("type") in ("A", "AAAA"):
                host = ".".join(part for part in (record.get("name", ""), zone) if part).rstrip(".") + "."
                wanted.setdefault((host, record["type"].lower()), []).append(record["value"])
        published = self._zones.setdefault(zone, set())
        for host, kind in published | set(wanted):
            self._dns_management(f"clear-{kind}", {"host": host})
        for (host, kind), addresses in wanted.items():
            self._dns_management(f"add-{kind}", {"host": host, "addresses": addresses})
        self._zones[zone] = set(wanted)

    @staticmethod
    def _dns_management(action: str, body: dict) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{DNS_MANAGEMENT_PORT}/{action}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (fixed http URL)
            response.read()

    def _management(self, path: str) -> str:
        context = ssl.create_default_context(cafile=str(self.tls_root))
        url = f"https://127.0.0.1:{MANAGEMENT_PORT}{path}"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:  # noqa: S310 (fixed https URL)
            return response.read().decode()

    def answering(self) -> bool:
        try:
            context = ssl.create_default_context(cafile=str(self.tls_root))
            with urllib.request.urlopen(self.directory_url, context=context, timeout=3) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False


def docker_gateway() -> str:
    """The host's address on Docker's default bridge, reachable from every lab container.

    An engine may leave the network's IPAM gateway empty (Debian's docker.io 20.10 does on a
    fresh start), so that field is only the first choice: then the bridge interface's own
    address in the network's subnet, then the subnet's first host, which is what Docker assigns.
    """
    inspect = subprocess.run(["docker", "network", "inspect", "bridge"],
                             capture_output=True, text=True, check=False)
    if inspect.returncode != 0:
        raise RuntimeError(f"cannot inspect Docker's bridge network: {inspect.stderr.strip()}")
    return bridge_gateway(json.loads(inspect.stdout)[0], _interface_addresses)


def bridge_gateway(network: dict, interface_addresses) -> str:
    """The gateway of an inspected bridge network (see docker_gateway)."""
    configs = (network.get("IPAM") or {}).get("Config") or []
    networks = [ipaddress.ip_network(c["Subnet"]) for c in configs if c.get("Subnet")]
    subnets = [network for network in networks if network.version == 4]
    for config in configs:
        if config.get("Gateway") and ipaddress.ip_address(config["Gateway"]).version == 4:
            return config["Gateway"]
    if not subnets:
        raise RuntimeError("Docker's bridge network has neither a gateway nor an IPv4 subnet; "
                           "restart the Docker engine and try again")
    interface = (network.get("Options") or {}).get("com.docker.network.bridge.name", "docker0")
    for address in interface_addresses(interface):
        if any(ipaddress.ip_address(address) in subnet for subnet in subnets):
            return address
    return str(next(subnets[0].hosts()))


def _interface_addresses(interface: str) -> list[str]:
    """IPv4 addresses of a local interface (empty when there is no such interface)."""
    shown = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", interface],
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        return []
    return [info["local"] for link in json.loads(shown.stdout or "[]") for info in link.get("addr_info", [])]


def state_dir() -> Path:
    path = paths.cache_dir() / "pebble"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_running() -> Pebble:
    """Start Pebble and challtestsrv unless they already answer; return how to reach them."""
    pebble = Pebble(docker_gateway(), state_dir())
    if _alive("pebble") and _alive("challtestsrv"):
        # Running: never restart it for a slow answer (a restart means a new root CA and
        # no accounts, which would break every test host using it).
        _wait_until_answering(pebble)
        return pebble
    stop()
    _write_tls_material(pebble)
    config = pebble.state_dir / "pebble-config.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"{pebble.gateway}:{ACME_PORT}",
        "managementListenAddress": f"127.0.0.1:{MANAGEMENT_PORT}",
        "certificate": str(pebble.state_dir / "tls-cert.pem"),
        "privateKey": str(pebble.state_dir / "tls-key.pem"),
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}))
    _spawn("challtestsrv", [
        "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
        "-dns01", f"127.0.0.1:{DNS_PORT}", "-management", f"127.0.0.1:{DNS_MANAGEMENT_PORT}",
        "-http01", "", "-https01", "", "-tlsalpn01", "",
    ], {})
    # No artificial validation delay, no random nonce rejections and no reused authorizations:
    # the tests want deterministic timing and counts; real validation still happens.
    _spawn("pebble", ["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{DNS_PORT}"],
           {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"},
           log=pebble.log)
    _wait_until_answering(pebble)
    return pebble


def _wait_until_answering(pebble: Pebble, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not pebble.answering():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Pebble did not answer at {pebble.directory_url}; see {pebble.log}")
        time.sleep(0.3)


def stop() -> list[str]:
    return daemons.stop(state_dir(), PROCESSES)


def _spawn(name: str, command: list[str], env: dict[str, str], log: Path | None = None) -> None:
    daemons.spawn(state_dir(), name, command, env, log)


def _alive(name: str) -> bool:
    return daemons.alive(state_dir(), name, PROCESSES[name])


def _write_tls_material(pebble: Pebble) -> None:
    """A throwaway CA and a certificate for Pebble's own listeners (loopback and the gateway)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FlowSpace lab Pebble listener CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.DNSName("pebble"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address(pebble.gateway))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (pebble.state_dir / "tls-ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (pebble.state_dir / "tls-cert.pem").write_bytes(cert.public_bytes(pem))
    (pebble.state_dir / "tls-key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        pebble = ensure_running()
        print(json.dumps({"directory": pebble.directory_url, "tls_root": str(pebble.tls_root),
                          "log": str(pebble.log)}))
    elif command == "stop":
        print("stopped: " + (", ".join(stop()) or "nothing was running"))
    elif command == "add-a" and len(argv) == 3:
        ensure_running().add_a(argv[1], argv[2])
    elif command == "issuing-root":
        print(ensure_running().issuing_chain_bundle())
    elif command == "status":
        pebble = Pebble(docker_gateway(), state_dir())
        print("answering" if pebble.answering() else "not running")
        return 0 if pebble.answering() else 1
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0

