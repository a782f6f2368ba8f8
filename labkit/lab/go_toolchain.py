"""The Go toolchain the lab builds its service binaries with: the release the caddy role pins
for its layer-4 build (roles/caddy/defaults/main.yml), found or fetched by the collection's
rule (module_utils/go_toolchain.py: the machine's go when it is that release, otherwise the
module golang.org/toolchain from the Go module proxy, checked against its pinned go.sum hash
and kept in the cache). One Go release for the lab and production, so the binaries the lab
builds are byte for byte the ones the role pins.

    python -m labkit go-toolchain  -> prints the path of the `go` to use
"""

import functools
import sys

import yaml

from labkit.lab import paths

CADDY_DEFAULTS = paths.REPO_ROOT / "roles" / "caddy" / "defaults" / "main.yml"


@functools.cache
def rule():
    """The collection's module_utils/go_toolchain.py (loaded by path, like the cache-dir rule)."""
    return paths.load_module_utils("go_toolchain")


@functools.cache
def pins() -> dict:
    """The role's pinned Go release and toolchain hashes, and the layer-4 build's sha256s."""
    defaults = yaml.safe_load(CADDY_DEFAULTS.read_text())
    return {name: defaults[f"caddy_build_{name}"] for name in ("go_version", "go_toolchain_hashes", "sha256")}


def go() -> str:
    """The go of the pinned release (fetched once when the machine has none)."""
    version = pins()["go_version"]
    if rule().machine_go(version) is None:
        print(f"[flowspace] fetching Go {version} from the Go module proxy (about 60 MB, once per machine)",
              file=sys.stderr, flush=True)
    return rule().pinned_go(version, pins()["go_toolchain_hashes"], str(paths.cache_dir() / "go"))


def main(argv: list[str]) -> int:
    """go-toolchain: print the path of the go to build with."""
    try:
        print(go())
    except (rule().ToolchainError, OSError) as err:
        print(f"[flowspace] error: {err}", file=sys.stderr)
        return 1
    return 0
