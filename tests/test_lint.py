"""Lint gates: every file the project ships passes its linter, every playbook parses."""

import pytest

from conftest import REPO_ROOT, run_tool, tail

PLAYBOOKS = sorted(
    str(path.relative_to(REPO_ROOT))
    for path in [REPO_ROOT / "site.yml", *(REPO_ROOT / "playbooks").glob("*.yml")]
)
INVENTORIES = ["inventories/lab/hosts.yml", "inventories/production/hosts.yml"]


def test_yamllint() -> None:
    result = run_tool("yamllint", "--strict", ".")
    assert result.returncode == 0, tail(result)


def test_ansible_lint_production_profile() -> None:
    result = run_tool("ansible-lint", "--profile", "production", timeout=900)
    assert result.returncode == 0, tail(result, 120)


def test_ruff() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, tail(result)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook: str, inventory: str) -> None:
    result = run_tool("ansible-playbook", "--syntax-check", "-i", inventory, playbook)
    assert result.returncode == 0, tail(result)

