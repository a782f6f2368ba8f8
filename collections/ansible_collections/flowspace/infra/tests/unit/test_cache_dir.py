"""The controller's cache folder: one rule for the project's shell, Python and Ansible sides."""

import os
import subprocess
import sys

from ansible_collections.flowspace.infra.plugins.lookup.cache_dir import LookupModule
from ansible_collections.flowspace.infra.plugins.module_utils import cache_dir
from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir


def test_the_explicit_folder_wins():
    assert flowspace_cache_dir({"FLOWSPACE_CACHE_DIR": "/x", "XDG_CACHE_HOME": "/y"}) == "/x"


def test_xdg_cache_home_is_honoured():
    assert flowspace_cache_dir({"XDG_CACHE_HOME": "/y"}) == "/y/flowspace"


def test_home_cache_otherwise():
    assert flowspace_cache_dir({}) == os.path.expanduser("~/.cache/flowspace")


def test_the_lookup_and_the_script_agree(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/srv/cache")
    monkeypatch.delenv("FLOWSPACE_CACHE_DIR", raising=False)
    assert LookupModule().run([]) == ["/srv/cache/flowspace"]
    assert LookupModule().run(["builds"]) == ["/srv/cache/flowspace/builds"]
    printed = subprocess.run([sys.executable, cache_dir.__file__], capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == "/srv/cache/flowspace"
