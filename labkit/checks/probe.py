"""Probe a test host's firewall from outside: which ports does it let through?

A port the firewall lets through answers with a connection (something listens) or a refusal
(TCP RST / ICMP port unreachable: nothing listens). A port the firewall rejects answers with
ICMP "host prohibited", which the socket reports as EHOSTUNREACH; a dropped one never answers.
Only the host's own addresses (the project's containers) are probed, and every probe is
bounded in count and time.
"""

import errno
import json
import selectors
import socket
import time

PASSED_BY_FIREWALL = ("open", "refused")


# Every privileged port plus the high ports a realtime stack or a careless service might expose.
# (Not all 65535: the kernel rate-limits the ICMP rejections, so a full scan takes minutes.)
NOTABLE_HIGH_PORTS = [1883, 2222, 2375, 2376, 3000, 3001, 3306, 3478, 5349, 5432, 6379, 7880, 7881,
                      7882, 8000, 8080, 8443, 9090, 9100, 9229, 11211, 27017, 50000, 55000, 60000]


def default_tcp_ports(extra: list[int] | None = None) -> list[int]:
    return sorted(set(range(1, 1025)) | set(NOTABLE_HIGH_PORTS) | set(extra or []))


def probe_tcp(host: str, ports: list[int], timeout: float = 1.5, batch: int = 1024) -> dict[int, str]:
    """Classify TCP ports as open, refused (allowed, nothing listens), rejected or silent."""
    results: dict[int, str] = {}
    for start in range(0, len(ports), batch):
        selector = selectors.DefaultSelector()
        pending = {}
        for port in ports[start:start + batch]:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((host, port))
            if code in (0, errno.EINPROGRESS):
                selector.register(sock, selectors.EVENT_WRITE, port)
                pending[port] = sock
            else:
                results[port] = _classify(code)
                sock.close()
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                port = key.data
                sock = pending.pop(port)
                selector.unregister(sock)
                results[port] = _classify(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
                sock.close()
        for port, sock in pending.items():
            results[port] = "silent"
            selector.unregister(sock)
            sock.close()
        selector.close()
    return results


def probe_udp(host: str, ports: list[int], timeout: float = 1.5) -> dict[int, str]:
    """Classify UDP ports by the ICMP error a datagram provokes (refused, rejected or silent)."""
    results = {}
    for port in ports:
        time.sleep(0.25)  # stay inside the kernel's per-peer ICMP error rate limit
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, port))
            try:
                sock.send(b"flowspace-probe")
                sock.recv(64)
                results[port] = "open"
            except TimeoutError:
                results[port] = "silent"
            except OSError as err:
                results[port] = _classify(err.errno)
    return results


def _classify(code: int) -> str:
    if code == 0:
        return "open"
    if code == errno.ECONNREFUSED:
        return "refused"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES):
        return "rejected"
    return f"error:{errno.errorcode.get(code, code)}"


def passed(results: dict[int, str]) -> list[int]:
    return sorted(port for port, state in results.items() if state in PASSED_BY_FIREWALL)


def _port_list(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p]


def main(argv: list[str]) -> int:
    """probe HOST [EXTRA_TCP_PORTS] [UDP_PORTS]: comma-separated lists; prints JSON."""
    host = argv[0]
    extra_tcp = _port_list(argv[1]) if len(argv) > 1 else []
    udp_ports = _port_list(argv[2]) if len(argv) > 2 else []
    # UDP first: the TCP sweep's rejections use up the host's ICMP rate limit for a while.
    udp = probe_udp(host, udp_ports)
    tcp = probe_tcp(host, default_tcp_ports(extra_tcp))
    print(json.dumps({"tcp_passed": passed(tcp), "udp": {str(k): v for k, v in udp.items()},
                      "tcp_states": sorted(set(tcp.values()))}))
    return 0

