"""An arm64 Debian tree, so that this machine runs the A1's dynamically linked programs
(Node.js) under user-mode emulation: `qemu-aarch64-static -L TREE node ...`. debootstrap's
first stage (--foreign) only downloads and unpacks the base packages (the C and C++ runtime
among them) and runs none of them, so it needs no emulation itself. Made once per machine.

    python -m labkit arm64-sysroot  -> prints the tree's path
"""

import shutil
import sys
from pathlib import Path

from labkit.lab import build_log, images, paths

SUITE = "bookworm"  # Ubuntu 24.04's and Debian 12's C library are both new enough for Node 22
LOADER = "lib/ld-linux-aarch64.so.1"


def sysroot(mirror: str = images.DEFAULT_MIRROR) -> Path:
    target = paths.cache_dir() / f"sysroot-arm64-{SUITE}"
    if (target / LOADER).exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"[flowspace] unpacking an arm64 {SUITE} tree for qemu-user (about a minute, once per machine; "
          f"log: {build_log.log_path('arm64-sysroot')})", file=sys.stderr, flush=True)
    build_log.run_logged(
        ["debootstrap", "--arch=arm64", "--foreign", "--variant=minbase", SUITE, str(partial), mirror],
        "arm64-sysroot", f"debootstrap --foreign of {SUITE} for arm64")
    partial.rename(target)
    return target


def main(argv: list[str]) -> int:
    """arm64-sysroot: make the tree if missing, print its path."""
    try:
        print(sysroot())
    except (build_log.StepFailed, OSError) as err:
        print(f"[flowspace] error: {err}", file=sys.stderr)
        return 1
    return 0
