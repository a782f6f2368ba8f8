"""The set-up's host-package step on a machine like a new CI machine: a Docker client on PATH
but no engine, and none of the lab's packages. It must see that a client is not an engine,
name what is missing when it is not root, and install it all when it is."""

import shutil
import subprocess
import uuid

import pytest

from labkit.lab import images
from support import REPO_ROOT

pytestmark = pytest.mark.integration

SETUP_ROOT = "/srv/flowspace"
EXPECTED_MISSING = {"debootstrap", "openssh-client", "iproute2", "docker.io", "pebble",
                    "redis-server", "nodejs", "npm", "gpg", "chromium", "libnss3-tools", "qemu-user-static",
                    "python3-venv"}


@pytest.fixture(scope="module")
def bare_machine():
    """A plain Debian 12 container (no systemd needed) with the machine's docker client copied in."""
    image = images.build_base(images.FLAVOURS["debian12"])
    name = f"flowspace-pytest-fresh-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--name", name, image, "sleep", "infinity"],
                   check=True, capture_output=True)
    try:
        docker(name, "mkdir", "-p", f"{SETUP_ROOT}/scripts")
        subprocess.run(["docker", "cp", str(REPO_ROOT / "scripts" / "setup.sh"),
                        f"{name}:{SETUP_ROOT}/scripts/setup.sh"], check=True)
        subprocess.run(["docker", "cp", shutil.which("docker"), f"{name}:/usr/local/bin/docker"], check=True)
        docker(name, "useradd", "--create-home", "alice")
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def docker(name: str, *command: str, user: str = "root") -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", "-u", user, name, *command],
                          capture_output=True, text=True, timeout=900, check=False)


def setup_step(name: str, function: str, user: str = "root") -> subprocess.CompletedProcess:
    """Source the set-up as ./flowspace does and call one of its functions."""
    script = (f"FLOWSPACE_ROOT={SETUP_ROOT}; FLOWSPACE_CACHE_DIR=$HOME/.cache/flowspace; "
              f"set -euo pipefail; source {SETUP_ROOT}/scripts/setup.sh; {function}")
    return docker(name, "bash", "-c", script, user=user)


def test_a_docker_client_alone_is_not_taken_for_an_engine(bare_machine) -> None:
    client = docker(bare_machine, "docker", "--version")
    assert client.returncode == 0, client.stderr
    assert "Docker version" in client.stdout
    missing = setup_step(bare_machine, "missing_host_packages")
    assert missing.returncode == 0, missing.stderr
    assert set(missing.stdout.split()) == EXPECTED_MISSING


def test_without_root_it_names_what_to_install_and_changes_nothing(bare_machine) -> None:
    result = setup_step(bare_machine, "setup_host_packages", user="alice")
    assert result.returncode == 1
    message = result.stderr
    assert "docker.io" in message and "sudo apt-get install" in message
    assert all(package in message for package in EXPECTED_MISSING), message
    assert docker(bare_machine, "sh", "-c", "command -v dockerd").returncode != 0, "nothing was installed"


def test_as_root_it_installs_the_engine_and_everything_else(bare_machine) -> None:
    result = setup_step(bare_machine, "setup_host_packages")
    assert result.returncode == 0, result.stderr
    assert "installing Debian packages: " in result.stderr
    assert "docker.io" in result.stderr
    for command in (["dockerd", "--version"], ["sh", "-c", "command -v pebble-challtestsrv"],
                    ["redis-server", "--version"], ["node", "--version"], ["debootstrap", "--version"],
                    ["chromium", "--version"], ["sh", "-c", "command -v certutil"],
                    ["qemu-aarch64-static", "--version"]):
        ran = docker(bare_machine, *command)
        assert ran.returncode == 0 and "not found" not in ran.stderr + ran.stdout, (command, ran)
    again = setup_step(bare_machine, "missing_host_packages")
    assert again.stdout.strip() == "", again.stdout
    assert docker(bare_machine, "test", "-s", "/root/.cache/flowspace/logs/apt.log").returncode == 0
