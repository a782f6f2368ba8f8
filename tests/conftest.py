"""Test session set-up: the checkout's packages (labkit, the test helpers, the collection)
importable."""

import sys
from pathlib import Path

import pytest
from ansible.plugins.loader import init_plugin_loader

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
# The collection is imported through Ansible's own collection loader, as in a play, so that
# tests and the lab's inventory reader (which templates the collection's lookups) share it.
init_plugin_loader([str(REPO_ROOT / "collections")])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
