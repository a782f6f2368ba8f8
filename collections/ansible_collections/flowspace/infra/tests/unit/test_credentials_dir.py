"""The controller's credentials folder: one rule for every secret the stack keeps there."""

import os

from ansible_collections.flowspace.infra.plugins.lookup.credentials_dir import LookupModule
from ansible_collections.flowspace.infra.plugins.module_utils.credentials_dir import flowspace_credentials_dir


def test_the_explicit_folder_wins():
    assert flowspace_credentials_dir({"FLOWSPACE_CREDENTIALS_DIR": "/run/secrets/fs"}) == "/run/secrets/fs"


def test_a_home_relative_setting_is_expanded():
    setting = {"FLOWSPACE_CREDENTIALS_DIR": "~/vault/credentials"}
    assert flowspace_credentials_dir(setting) == os.path.expanduser("~/vault/credentials")


def test_an_empty_setting_is_no_setting():
    assert flowspace_credentials_dir({"FLOWSPACE_CREDENTIALS_DIR": ""}) == os.path.expanduser(
        "~/.config/flowspace/credentials")


def test_the_lookup_gives_a_folder_per_name(monkeypatch):
    monkeypatch.setenv("FLOWSPACE_CREDENTIALS_DIR", "/srv/credentials")
    assert LookupModule().run([]) == ["/srv/credentials"]
    assert LookupModule().run(["socket-a.example", "redis-a.example"]) == [
        "/srv/credentials/socket-a.example", "/srv/credentials/redis-a.example"]
