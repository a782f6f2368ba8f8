"""A Go toolchain for building the lab's service binaries: the machine's own when it is new
enough, otherwise a pinned release fetched from the Go module proxy.

Go publishes every release as the module `golang.org/toolchain` (what `GOTOOLCHAIN` switches
to), so the proxy this project may use serves it. Debian's golang-go (1.19 in bookworm) is too
old for caddy 2.11 and livekit-server 1.13 and cannot switch toolchains itself, so the zip is
fetched here directly, checked against the go.sum hash pinned below and unpacked into the cache.

    python -m labkit go-toolchain  -> prints the path of the `go` to use
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from labkit.lab import paths

# What the lab's builds need (caddy 2.11.9's and livekit-server 1.13.5's go.mod say go 1.26).
MINIMUM = (1, 26)
PINNED = "1.26.8"
# go.sum hashes of golang.org/toolchain v0.0.1-go<PINNED>.linux-<arch> (from sum.golang.org).
PINNED_HASHES = {
    "amd64": "h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=",
    "arm64": "h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc=",
}
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
DEFAULT_PROXY = "https://proxy.golang.org"


def version_of(go: str) -> tuple[int, ...] | None:
    """(major, minor[, patch]) of a go binary, or None when it does not run."""
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                             check=True, timeout=60, env={**os.environ, "GOTOOLCHAIN": "local"}).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"go(\d+)\.(\d+)(?:\.(\d+))?", out.strip())
    return tuple(int(part) for part in match.groups() if part is not None) if match else None


def machine_go() -> str | None:
    """The machine's go when it is new enough."""
    for candidate in (shutil.which("go"), "/usr/local/go/bin/go"):
        if candidate and Path(candidate).exists() and (version_of(candidate) or (0,)) >= MINIMUM:
            return candidate
    return None


def module_hash(archive: Path) -> str:
    """Go's dirhash "h1:" of a module zip: the sha256 of the sorted 'sha256  name' lines."""
    lines = []
    with zipfile.ZipFile(archive) as zipped:
        for name in sorted(zipped.namelist()):
            lines.append(f"{hashlib.sha256(zipped.read(name)).hexdigest()}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def _proxy() -> str:
    """The first HTTP proxy of GOPROXY, as `go` itself would use."""
    for entry in re.split(r"[,|]", os.environ.get("GOPROXY", DEFAULT_PROXY)):
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    return DEFAULT_PROXY


def fetch(arch: str, root: Path) -> Path:
    """Download, verify and unpack the pinned toolchain into root; returns its bin/go."""
    version = f"v0.0.1-go{PINNED}.linux-{arch}"
    url = f"{_proxy()}/golang.org/toolchain/@v/{version}.zip"
    prefix = f"golang.org/toolchain@{version}/"
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as work:
        archive = Path(work) / "toolchain.zip"
        with urllib.request.urlopen(url, timeout=300) as response, open(archive, "wb") as out:  # noqa: S310 (https proxy)
            shutil.copyfileobj(response, out)
        got = module_hash(archive)
        if got != PINNED_HASHES[arch]:
            raise RuntimeError(f"Go toolchain from {url} has hash {got}, "
                               f"expected {PINNED_HASHES[arch]}: refusing it")
        unpacked = Path(work) / "go"
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                if member.is_dir() or not member.filename.startswith(prefix):
                    continue
                target = unpacked / member.filename[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zipped.read(member))
        # Module zips keep no file modes; the commands are what go itself marks executable.
        for folder in [unpacked / "bin", *(unpacked / "pkg" / "tool").glob("*")]:
            for tool in folder.iterdir():
                tool.chmod(0o755)
        unpacked.rename(root)
    return root / "bin" / "go"


def go() -> str:
    """The go to build with: the machine's when new enough, else the pinned one (fetched once)."""
    found = machine_go()
    if found:
        return found
    arch = GOARCH[os.uname().machine]
    root = paths.cache_dir() / "go" / f"go{PINNED}.linux-{arch}"
    if (root / "bin" / "go").exists():
        return str(root / "bin" / "go")
    print(f"[flowspace] fetching Go {PINNED} from the Go module proxy (about 60 MB, once per machine)",
          file=sys.stderr, flush=True)
    return str(fetch(arch, root))


def main(argv: list[str]) -> int:
    """go-toolchain: print the path of the go to build with."""
    print(go())
    return 0
