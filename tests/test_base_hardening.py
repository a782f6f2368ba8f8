"""base_hardening over SSH, as production runs it: drift is reported by --check without being
touched, healed by a re-run, and bad input fails before anything on the host changes. The
Debian 13 host starts sshd from ssh.socket the way Ubuntu 22.10+ does (ssh.service disabled,
ssh.socket enabled, Accept=no), where a Port change alone would lock the admin out."""

import json

import pytest

from ansible_run import STOPS_EARLY, docker_host_vars, run_playbook, ssh_host_vars, write_inventory
from labkit.lab import hosts

pytestmark = pytest.mark.integration

# Drift runs on Debian 13 and bad input on Debian 12 (the pristine host below); molecule's
# base_hardening scenario converges, re-runs and audits both. One flavour each keeps the
# suite inside its time budget.
SSH_PORTS = {"debian13": 2312}
PLAYBOOK = "playbooks/base.yml"

SSHD_TASK = "Write the hardened sshd settings (first drop-in, so its values win)"
SYSCTL_TASK = "Write the sysctl settings applied at boot"
# Each injected drift: the command, the task --check must report it with, the task that heals it.
DRIFTS = {
    "altered sshd config": (
        "echo 'PasswordAuthentication yes' >> /etc/ssh/sshd_config.d/00-base-hardening.conf",
        SSHD_TASK,
        SSHD_TASK,
    ),
    "flushed firewall": (
        "iptables -F",
        "Report the live drift a real run would reload",
        "Load the rules where the live tables drifted from them",
    ),
    "stopped fail2ban": ("systemctl stop fail2ban", "Run fail2ban", "Run fail2ban"),
    "edited sysctl file": (
        "sed -i 's/^net.core.rmem_max = .*/net.core.rmem_max = 212992/' "
        "/etc/sysctl.d/99-zz-base-hardening.conf",
        SYSCTL_TASK,
        SYSCTL_TASK,
    ),
}


# What Ubuntu 22.10 and later ship: sshd started by systemd's ssh.socket, not by ssh.service.
UBUNTU_SOCKET_ACTIVATION = "systemctl disable --now ssh.service && systemctl enable --now ssh.socket"


def host_state(host: hosts.Host) -> dict[str, str]:
    """What the drift checks look at, read straight from the host."""
    return {
        "sshd": host.exec("cat", "/etc/ssh/sshd_config.d/00-base-hardening.conf", check=False).stdout,
        "firewall": host.exec("iptables", "-S", "INPUT").stdout,
        "fail2ban": host.exec("systemctl", "is-active", "fail2ban", check=False).stdout.strip(),
        "sysctl": host.exec("cat", "/etc/sysctl.d/99-zz-base-hardening.conf", check=False).stdout,
    }


@pytest.fixture(scope="module", params=sorted(SSH_PORTS))
def hardened(request, tmp_path_factory):
    flavour = request.param
    host = hosts.start(f"flowspace-pytest-base-{flavour}", flavour, SSH_PORTS[flavour])
    host.exec("sh", "-c", UBUNTU_SOCKET_ACTIVATION)
    inventory = write_inventory(
        tmp_path_factory.mktemp(flavour) / "hosts.json", {host.name: ssh_host_vars(host.ssh_port)}
    )
    first = run_playbook(inventory, PLAYBOOK)
    assert first.returncode == 0, first.output[-3000:]
    yield host, inventory
    hosts.remove(host.name)


def test_converged_host_reports_nothing_to_do(hardened) -> None:
    host, inventory = hardened
    again = run_playbook(inventory, PLAYBOOK)
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed(host.name) == []
    check = run_playbook(inventory, PLAYBOOK, "--check", "--diff")
    assert check.returncode == 0, check.output[-3000:]
    assert check.changed(host.name) == []


def test_drift_is_reported_by_check_then_healed(hardened) -> None:
    host, inventory = hardened
    for command, _reported_by, _healed_by in DRIFTS.values():
        host.exec("sh", "-c", command)
    drifted = host_state(host)

    check = run_playbook(inventory, PLAYBOOK, "--check", "--diff")
    assert check.returncode == 0, check.output[-3000:]
    reported = check.changed_names(host.name)
    for drift, (_command, task, _healed_by) in DRIFTS.items():
        assert task in reported, f"--check did not report the {drift}: {sorted(reported)}"
    assert host_state(host) == drifted, "--check changed the host"

    heal = run_playbook(inventory, PLAYBOOK)
    assert heal.returncode == 0, heal.output[-3000:]
    healed = heal.changed_names(host.name)
    for drift, (_command, _reported_by, task) in DRIFTS.items():
        assert task in healed, f"the re-run did not heal the {drift}: {sorted(healed)}"
    state = host_state(host)
    assert "PasswordAuthentication yes" not in state["sshd"]
    assert state["firewall"].splitlines()[-1] == "-A INPUT -j REJECT --reject-with icmp-host-prohibited"
    assert state["fail2ban"] == "active"
    assert "net.core.rmem_max = 5000000" in state["sysctl"]

    settled = run_playbook(inventory, PLAYBOOK)
    assert settled.returncode == 0, settled.output[-3000:]
    assert settled.changed(host.name) == []


def test_a_port_change_moves_ssh_socket_before_the_firewall_follows(hardened) -> None:
    """Last on this host: afterwards SSH is on 2200 inside the container, not the published 22."""
    host, inventory = hardened
    assert host.exec("systemctl", "is-enabled", "ssh.socket").stdout.strip() == "enabled"
    # As typed on a command line: a string the role must still treat as the number it is.
    run = run_playbook(inventory, PLAYBOOK, "-e", "base_hardening_ssh_port=2200")
    assert run.returncode == 0, run.output[-3000:]
    assert "Re-create ssh.socket on the SSH port" in run.changed_names(host.name)
    listening = host.exec("ss", "-Htln").stdout
    assert ":2200 " in listening and ":22 " not in listening, listening
    banner = host.exec("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/2200; head -c 4 <&3").stdout
    assert banner == "SSH-"
    firewall = host.exec("iptables", "-S", "INPUT").stdout
    assert "--dport 2200 -j ACCEPT" in firewall and "--dport 22 -j ACCEPT" not in firewall


# (extra vars, words the error must contain)
BAD_INPUT = {
    "unknown area switch": ({"base_hardening_sshh_enabled": False}, "base_hardening_sshh_enabled"),
    "port out of range": (
        {"flowspace_extra_public_ports": [{"port": 70000, "protocol": "tcp", "purpose": "https"}]},
        "port must be an integer from 1 to 65535, got 70000",
    ),
    "unknown protocol": (
        {"flowspace_extra_public_ports": [{"port": 443, "protocol": "sctp", "purpose": "https"}]},
        "protocol",
    ),
    "overlapping ports": (
        {"flowspace_extra_public_ports": [
            {"port": 50000, "port_end": 60000, "protocol": "udp", "purpose": "ice"},
            {"port": 55000, "protocol": "udp", "purpose": "other"},
        ]},
        "overlap",
    ),
    "unsafe purpose": (
        {"flowspace_extra_public_ports": [{"port": 443, "protocol": "tcp", "purpose": 'x" -j ACCEPT'}]},
        "purpose must be",
    ),
    "ssh port as a public port": (
        {"flowspace_extra_public_ports": [{"port": 22, "protocol": "tcp", "purpose": "ssh"}]},
        "the SSH port",
    ),
    "vfat blacklisted": ({"base_hardening_kernel_modules_disabled": ["dccp", "vfat"]}, "UEFI"),
    "wrong type": ({"base_hardening_ssh_port": "twenty-two"}, "base_hardening_ssh_port"),
    "unknown admin user": ({"base_hardening_admin_user": "nobody-here"}, "does not exist"),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A fresh host reached through docker exec, so its admin user can lose its key."""
    host = hosts.start("flowspace-pytest-base-pristine", "debian12", 2313)
    inventory = write_inventory(tmp_path_factory.mktemp("pristine") / "hosts.json",
                                {host.name: docker_host_vars(host.name)})
    yield host, inventory
    hosts.remove(host.name)


def untouched(host: hosts.Host) -> None:
    drop_in = "/etc/ssh/sshd_config.d/00-base-hardening.conf"
    assert host.exec("test", "-e", drop_in, check=False).returncode != 0
    assert host.exec("dpkg", "-s", "fail2ban", check=False).returncode != 0
    cloud_init = host.exec("cat", "/etc/ssh/sshd_config.d/50-cloud-init.conf").stdout
    assert "PasswordAuthentication yes" in cloud_init
    assert host.exec("iptables", "-S", "INPUT").stdout.count("-j ACCEPT") == 5


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_before_the_host_changes(pristine, tmp_path, case: str) -> None:
    host, inventory = pristine
    extra, expected = BAD_INPUT[case]
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    run = run_playbook(inventory, PLAYBOOK, "-e", f"@{extra_file}", env=STOPS_EARLY)
    assert run.returncode != 0
    messages = " ".join(run.failures.get(host.name, []))
    assert expected in messages, messages or run.output[-3000:]
    assert run.changed(host.name) == []
    untouched(host)


def test_admin_without_a_key_stops_the_role(pristine) -> None:
    host, inventory = pristine
    host.exec("mv", "/home/ubuntu/.ssh/authorized_keys", "/home/ubuntu/.ssh/authorized_keys.away")
    try:
        # No keys declared either (the lab's inventory declares the lab key).
        run = run_playbook(inventory, PLAYBOOK, "-e", '{"base_hardening_admin_authorized_keys": []}')
        assert run.returncode != 0
        messages = " ".join(run.failures.get(host.name, []))
        assert "has no SSH key" in messages and "Nothing was changed" in messages, messages
        assert run.changed(host.name) == []
        untouched(host)
    finally:
        host.exec("mv", "/home/ubuntu/.ssh/authorized_keys.away", "/home/ubuntu/.ssh/authorized_keys")


# Ubuntu 24.04's own /etc/os-release fields, which Ansible's distribution facts read.
UBUNTU_OS_RELEASE = """PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""


def test_a_host_that_reports_ubuntu_skips_the_debian_only_steps(pristine) -> None:
    """Last on this host. The role's one distribution branch: Debian's security suite is added
    only on Debian (Ubuntu's images carry <codename>-security in their own sources)."""
    host, inventory = pristine
    host.exec("sh", "-c", f"rm -f /etc/os-release && printf '%s' '{UBUNTU_OS_RELEASE}' > /etc/os-release")
    run = run_playbook(inventory, PLAYBOOK)
    assert run.returncode == 0, run.output[-3000:]
    skipped = run.result("base_hardening : Add Debian's security suite", host.name)
    assert skipped.get("skipped") is True and "Debian" in skipped["false_condition"], skipped
    debian_suite = host.exec("test", "-e", "/etc/apt/sources.list.d/debian-security.list", check=False)
    assert debian_suite.returncode != 0
