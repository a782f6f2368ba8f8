"""Service binaries the tests install with the roles' `binary` method, built once per machine.

Production installs release packages or tarballs; GitHub downloads are unreachable here, so the
lab builds the same upstream versions from the Go module proxy and caches them by version.

    python -m labkit binaries caddy-layer4 livekit-server   -> prints the paths of the cached binaries
    python -m labkit binaries actionlint                    -> the workflows' linter, for this machine
    python -m labkit binaries --arch arm64 caddy-layer4     -> the same, for another architecture

`caddy` is the stock build (what Caddy's packages hold: the lab's apt repository stand-in packs
it); `caddy-layer4` adds the layer-4 module (github.com/mholt/caddy-l4) that routes TLS by SNI
on port 443, for TURN over TLS beside the HTTPS sites. It is production's build: the caddy
role's recipe (roles/caddy/files/caddy-layer4: every dependency pinned in go.sum), built by the
collection's rule (module_utils/go_build.py) and held to the sha256 the role pins, into the
file the role's `build` method looks for; the lab's converges then find it cached.
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
CADDY_LAYER4 = paths.REPO_ROOT / "roles" / "caddy" / "files" / "caddy-layer4"  # caddy + caddy-l4
# The livekit-server the lab and tests install; keep in step with roles/livekit's livekit_version.
# (Later 1.13 releases replace pion modules with forks the Go module proxy does not serve.)
LIVEKIT_VERSION = "1.13.5"
# The GitHub Actions workflows' linter (the lint tests run it); its PyPI wrapper downloads from
# GitHub, the Go module proxy serves its source.
ACTIONLINT_VERSION = "1.7.12"
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def goarch() -> str:
    return GOARCH[platform.machine()]


def cached(name: str, version: str, arch: str | None = None) -> Path:
    return paths.cache_dir() / "bin" / f"{name}-{version}-linux-{arch or goarch()}"


def go_build(name: str, version: str, target: Path, command: list[str], *, cwd: Path | None = None,
             arch: str | None = None) -> Path:
    """Run a go build command (it writes into its GOPATH/bin, or to -o OUTPUT) for linux/ARCH
    (default: this machine's), unless target is already there."""
    if target.exists():
        return target
    go = go_toolchain.go()
    arch = arch or goarch()
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"[flowspace] building {name} {version} for linux/{arch} from the Go module proxy "
          f"(about 3 minutes, once per machine; log: {build_log.log_path(name)})",
          file=sys.stderr, flush=True)
    module_cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory() as gopath:
        # GOTOOLCHAIN=local: the go chosen above builds, it never switches to another. Go
        # refuses GOBIN for cross-compiled installs; they land in GOPATH/bin/linux_<arch>.
        env = {**os.environ, "GOPATH": gopath, "GOMODCACHE": module_cache, "GOOS": "linux",
               "GOARCH": arch, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
        env.pop("GOBIN", None)
        argv = [go, *[part.replace("{OUTPUT}", str(partial)) for part in command]]
        build_log.run_logged(argv, name, f"building {name} {version} for linux/{arch}", env=env, cwd=cwd)
        if not partial.exists():
            folder = Path(gopath) / "bin"
            built = folder / command[-1].split("@")[0].rsplit("/", 1)[-1]
            if not built.exists():
                built = folder / f"linux_{arch}" / built.name
            shutil.move(built, partial)
        partial.rename(target)
    return target


def go_install(package: str, version: str, target: Path, arch: str | None = None) -> Path:
    """`go install package@vVERSION` into target."""
    name = target.name.split(f"-{version}")[0]
    return go_build(name, version, target, ["install", f"{package}@v{version}"], arch=arch)


def caddy(arch: str | None = None) -> Path:
    return go_install("github.com/caddyserver/caddy/v2/cmd/caddy", CADDY_VERSION,
                      cached("caddy", CADDY_VERSION, arch), arch)


def caddy_layer4(arch: str | None = None) -> Path:
    """caddy with the layer-4 module, as the caddy role's `build` method makes it."""
    arch = arch or goarch()
    target = cached("caddy-layer4", CADDY_VERSION, arch)
    rule = paths.load_module_utils("go_build")
    if rule.is_built(str(target), go_toolchain.pins()["sha256"][arch]):
        return target
    print(f"[flowspace] building caddy-layer4 {CADDY_VERSION} for linux/{arch} from the Go module proxy "
          "(about 3 minutes, once per machine)", file=sys.stderr, flush=True)
    try:
        rule.build_pinned(go_toolchain.go, str(CADDY_LAYER4), arch, dest=str(target),
                          sha256=go_toolchain.pins()["sha256"][arch])
    except rule.BuildError as err:
        raise build_log.StepFailed(str(err)) from err
    return target


def livekit_server(arch: str | None = None) -> Path:
    return go_install("github.com/livekit/livekit-server/cmd/server", LIVEKIT_VERSION,
                      cached("livekit-server", LIVEKIT_VERSION, arch), arch)


def actionlint(arch: str | None = None) -> Path:
    return go_install("github.com/rhysd/actionlint/cmd/actionlint", ACTIONLINT_VERSION,
                      cached("actionlint", ACTIONLINT_VERSION, arch), arch)


BUILDERS = {"caddy": caddy, "caddy-layer4": caddy_layer4, "livekit-server": livekit_server,
            "actionlint": actionlint}

def main(argv: list[str]) -> int:
    """binaries [--arch amd64|arm64] [NAME...]: build what is missing, print each binary's path."""
    arch = None
    if argv[:1] == ["--arch"]:
        if len(argv) < 2 or argv[1] not in set(GOARCH.values()):
            print(f"[flowspace] error: --arch takes one of {', '.join(sorted(set(GOARCH.values())))}",
                  file=sys.stderr)
            return 2
        arch, argv = argv[1], argv[2:]
    unknown = [name for name in argv if name not in BUILDERS]
    if unknown:
        print(f"[flowspace] error: unknown binary {', '.join(unknown)} (known: {', '.join(BUILDERS)})",
              file=sys.stderr)
        return 2
    try:
        for name in argv or sorted(BUILDERS):
            print(BUILDERS[name](arch))
    except (build_log.StepFailed, RuntimeError, OSError) as err:
        print(f"[flowspace] error: {err}", file=sys.stderr)
        return 1
    return 0
