"""Service binaries the tests install with the roles' `binary` method, built once per machine.

Production installs release packages or tarballs; GitHub downloads are unreachable here, so the
lab builds the same upstream versions from the Go module proxy and caches them by version.

    python -m labkit binaries caddy livekit-server   -> prints the paths of the cached binaries
"""

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from labkit.lab import build_log, go_toolchain, paths

# The caddy the lab and tests install; keep in step with roles/caddy's caddy_version.
CADDY_VERSION = "2.11.9"
# The livekit-server the lab and tests install; keep in step with roles/livekit's livekit_version.
# (Later 1.13 releases replace pion modules with forks the Go module proxy does not serve.)
LIVEKIT_VERSION = "1.13.5"
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def goarch() -> str:
    return GOARCH[platform.machine()]


def cached(name: str, version: str, arch: str | None = None) -> Path:
    return paths.cache_dir() / "bin" / f"{name}-{version}-linux-{arch or goarch()}"


def go_install(package: str, version: str, target: Path, arch: str | None = None) -> Path:
    """`go install package@vVERSION` for linux/ARCH (default: this machine's) into target,
    unless it is already there."""
    if target.exists():
        return target
    go = go_toolchain.go()
    arch = arch or goarch()
    target.parent.mkdir(parents=True, exist_ok=True)
    name = target.name.split(f"-{version}")[0]
    print(f"[flowspace] building {name} {version} for linux/{arch} from the Go module proxy "
          f"(about 3 minutes, once per machine; log: {build_log.log_path(name)})",
          file=sys.stderr, flush=True)
    module_cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as gopath:
        # GOTOOLCHAIN=local: the go chosen above builds, it never switches to another. Go
        # refuses GOBIN for cross-compiled installs; they land in GOPATH/bin/linux_<arch>.
        env = {**os.environ, "GOPATH": gopath, "GOMODCACHE": module_cache, "GOOS": "linux",
               "GOARCH": arch, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
        env.pop("GOBIN", None)
        build_log.run_logged([go, "install", f"{package}@v{version}"], name,
                             f"building {name} {version} for linux/{arch}", env=env)
        folder = Path(gopath) / "bin"
        built = folder / Path(package).name
        if not built.exists():
            built = folder / f"linux_{arch}" / Path(package).name
        partial = target.with_name(target.name + ".partial")
        shutil.move(built, partial)
        partial.rename(target)
    return target


def caddy(arch: str | None = None) -> Path:
    return go_install("github.com/caddyserver/caddy/v2/cmd/caddy", CADDY_VERSION,
                      cached("caddy", CADDY_VERSION, arch), arch)


def livekit_server(arch: str | None = None) -> Path:
    return go_install("github.com/livekit/livekit-server/cmd/server", LIVEKIT_VERSION,
                      cached("livekit-server", LIVEKIT_VERSION, arch), arch)


BUILDERS = {"caddy": caddy, "livekit-server": livekit_server}

def main(argv: list[str]) -> int:
    """binaries [caddy] [livekit-server]: build what is missing, print each binary's path."""
    unknown = [name for name in argv if name not in BUILDERS]
    if unknown:
        print(f"[flowspace] error: unknown binary {', '.join(unknown)} (known: {', '.join(BUILDERS)})",
              file=sys.stderr)
        return 2
    try:
        for name in argv or sorted(BUILDERS):
            print(BUILDERS[name]())
    except (build_log.StepFailed, RuntimeError, OSError) as err:
        print(f"[flowspace] error: {err}", file=sys.stderr)
        return 1
    return 0
