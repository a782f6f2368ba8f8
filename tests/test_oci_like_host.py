"""The test hosts look like a fresh Oracle Cloud Ubuntu instance, seen from outside over SSH."""

import socket
import subprocess
import time

import pytest

from labkit.lab import hosts, paths

pytestmark = pytest.mark.integration

SSH_PORTS = {"debian12": 2291, "debian13": 2292}


@pytest.fixture(scope="module", params=sorted(SSH_PORTS))
def host(request):
    flavour = request.param
    started = hosts.start(f"flowspace-pytest-{flavour}", flavour, SSH_PORTS[flavour])
    yield started
    hosts.remove(started.name)


def ssh(host: hosts.Host, command: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-p", str(host.ssh_port), "-i", str(paths.lab_key()),
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", *options, "ubuntu@127.0.0.1", command],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_admin_logs_in_with_the_key_and_has_passwordless_sudo(host) -> None:
    result = ssh(host, "id -un && sudo -n id -u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ubuntu", "0"]


def test_cloud_init_drop_in_turns_password_auth_on(host) -> None:
    effective = host.exec("sshd", "-T").stdout
    assert "passwordauthentication yes" in effective


def test_host_keys_are_made_per_container(host) -> None:
    other = hosts.start(f"{host.name}-twin", host.flavour, host.ssh_port + 10)
    try:
        mine = host.exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
        theirs = other.exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
        assert mine and theirs and mine != theirs
    finally:
        hosts.remove(other.name)


def test_oracle_rules_are_loaded_at_boot(host) -> None:
    rules = host.exec("iptables", "-S").stdout.splitlines()
    input_rules = [rule for rule in rules if rule.startswith("-A INPUT ")]
    assert input_rules[-1] == "-A INPUT -j REJECT --reject-with icmp-host-prohibited"
    assert "-A FORWARD -j REJECT --reject-with icmp-host-prohibited" in rules
    assert "-A OUTPUT -d 169.254.0.0/16 -j InstanceServices" in rules
    assert any("--dport 3260" in rule and "--uid-owner 0" in rule for rule in rules)
    assert host.exec("systemctl", "is-active", "netfilter-persistent").stdout.strip() == "active"


def test_firewall_rejects_a_port_it_was_not_told_to_open(host) -> None:
    """A service listening on 8080 is reachable inside the host but rejected from outside."""
    host.exec("systemd-run", "--unit=probe-listener", "python3", "-m", "http.server", "8080")
    deadline = time.monotonic() + 15
    while host.exec("python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080))",
                    check=False).returncode != 0:
        assert time.monotonic() < deadline, "probe listener never came up inside the host"
        time.sleep(0.5)
    with pytest.raises(OSError):
        socket.create_connection((host.ip_address(), 8080), timeout=5).close()
    with socket.create_connection((host.ip_address(), 22), timeout=5) as ssh_conn:
        assert ssh_conn.recv(64).startswith(b"SSH-")
