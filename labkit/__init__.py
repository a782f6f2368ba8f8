"""Local lab for FlowSpace infra: offline test-host images and OCI-like host containers."""

import sys
from pathlib import Path

# The collection's module_utils hold rules the lab shares with Ansible (e.g. the cache folder).
_COLLECTIONS = str(Path(__file__).resolve().parent.parent / "collections")
if _COLLECTIONS not in sys.path:
    sys.path.append(_COLLECTIONS)
