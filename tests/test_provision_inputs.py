"""playbooks/provision.yml on an inventory that does not say where to provision: a clear
error naming the settings, before any file is rendered or request made."""

import pytest

from ansible_run import STOPS_EARLY, run_playbook
from support import REPO_ROOT


@pytest.mark.parametrize(
    "inventory",
    [
        "inventories/lab/hosts.yml",  # made for site.yml alone: no oci_* settings
        "inventories/production/hosts.yml",  # the placeholder's empty compartment
    ],
    ids=["lab", "production placeholder"],
)
def test_missing_oci_settings_are_named(inventory: str, tmp_path) -> None:
    run = run_playbook(
        REPO_ROOT / inventory, "playbooks/provision.yml", "-e", f"cloud_init_dir={tmp_path}", env=STOPS_EARLY
    )
    assert run.returncode != 0
    message = "provision.yml needs hosts in the `oci` group and oci_compartment_id"
    assert message in run.output, run.output[-2000:]
    assert list(tmp_path.iterdir()) == []
