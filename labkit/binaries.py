"""Service binaries the tests install with the roles' `binary` method, built once per machine.

Production installs release packages or tarballs; GitHub downloads are unreachable here, so the
lab builds the same upstream versions from the Go module proxy and caches them by version.

    python -m labkit.binaries caddy livekit-server   -> prints the paths of the cached binaries
"""

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from labkit import paths

# The caddy the lab and tests install; keep in step with roles/caddy's caddy_version.
CADDY_VERSION = "2.11.9"
# The livekit-server the lab and tests install; keep in step with roles/livekit's livekit_version.
# (Later 1.13 releases replace pion modules with forks the Go module proxy does not serve.)
LIVEKIT_VERSION = "1.13.5"
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def goarch() -> str:
    return GOARCH[platform.machine()]


def cached(name: str, version: str) -> Path:
    return paths.cache_dir() / "bin" / f"{name}-{version}-linux-{goarch()}"


def go_install(package: str, version: str, target: Path) -> Path:
    """`go install package@vVERSION` into target, unless it is already there."""
    if target.exists():
        return target
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        raise FileNotFoundError("building the lab's service binaries needs Go (>= 1.26) on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"}
        subprocess.run([go, "install", f"{package}@v{version}"], env=env, check=True)
        built = Path(gobin) / Path(package).name
        partial = target.with_name(target.name + ".partial")
        shutil.move(built, partial)
        partial.rename(target)
    return target


def caddy() -> Path:
    return go_install("github.com/caddyserver/caddy/v2/cmd/caddy", CADDY_VERSION,
                      cached("caddy", CADDY_VERSION))


def livekit_server() -> Path:
    return go_install("github.com/livekit/livekit-server/cmd/server", LIVEKIT_VERSION,
                      cached("livekit-server", LIVEKIT_VERSION))


BUILDERS = {"caddy": caddy, "livekit-server": livekit_server}

if __name__ == "__main__":
    names = sys.argv[1:] or sorted(BUILDERS)
    for name in names:
        print(BUILDERS[name]())
