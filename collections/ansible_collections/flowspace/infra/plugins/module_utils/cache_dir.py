"""The one rule for where FlowSpace keeps machine-wide state on the controller (built releases,
generated keys, the lab's binaries): $FLOWSPACE_CACHE_DIR, else $XDG_CACHE_HOME/flowspace, else
~/.cache/flowspace. Run as a script it prints the folder (scripts/setup.sh reads it that way)."""

import os
import sys


def flowspace_cache_dir(environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("FLOWSPACE_CACHE_DIR"):
        return environ["FLOWSPACE_CACHE_DIR"]
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "flowspace")


if __name__ == "__main__":
    sys.stdout.write(flowspace_cache_dir() + "\n")
