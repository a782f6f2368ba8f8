"""Lint gates: every file the project ships passes its linter, every playbook parses."""

import json
import sys
from pathlib import Path

import pytest
import yaml

from support import REPO_ROOT, run_tool, tail

sys.path.insert(0, str(REPO_ROOT / "tools"))
import role_readme  # noqa: E402 - tools/ is not a package

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


def test_actionlint() -> None:
    """The GitHub Actions workflows, as GitHub would read them (actionlint, built from the Go
    module proxy by the set-up)."""
    from labkit.lab import binaries  # noqa: PLC0415

    result = run_tool(str(binaries.actionlint()), "-no-color")
    assert result.returncode == 0, tail(result)
    assert sorted(p.name for p in (REPO_ROOT / ".github" / "workflows").iterdir()) == [
        "ci.yml", "deploy.yml", "drift.yml"]


def test_ruff() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, tail(result)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook: str, inventory: str) -> None:
    result = run_tool("ansible-playbook", "--syntax-check", "-i", inventory, playbook)
    assert result.returncode == 0, tail(result)



def role_options(role: Path) -> set[str]:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return set(spec["argument_specs"]["main"]["options"])


ROLES = sorted(path.parent.parent for path in (REPO_ROOT / "roles").glob("*/meta/argument_specs.yml"))


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_readme_variables_are_the_argument_spec(role: Path) -> None:
    """The README's table is generated from the spec (names, types, defaults, meanings): an edit
    to either alone fails here until `python tools/role_readme.py` is run."""
    readme = (role / "README.md").read_text()
    assert role_readme.rendered(role) == readme, (
        f"{role.name}/README.md's variables table is not its spec's; run python tools/role_readme.py")
    missing = sorted(name for name in role_options(role) if f"| `{name}` |" not in readme)
    assert not missing, f"{role.name}/README.md has no row for {missing}"


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_defaults_match_the_argument_spec(role: Path) -> None:
    """The argument spec is the source: defaults/main.yml holds its variables, values included."""
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    assert set(defaults) == role_options(role)
    spec_file = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    spec = spec_file["argument_specs"]["main"]["options"]
    missing = sorted(name for name, option in spec.items() if "default" not in option)
    assert not missing, f"{role.name}: the argument spec gives no default for {missing}"
    differ = sorted(name for name, option in spec.items() if option["default"] != defaults[name])
    assert not differ, f"{role.name}: defaults/main.yml and the argument spec disagree on {differ}"


MODULES_DIR = REPO_ROOT / "collections/ansible_collections/flowspace/infra/plugins/modules"
MODULES = sorted(path.stem for path in MODULES_DIR.glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module: str) -> None:
    result = run_tool("ansible-doc", "--json", f"flowspace.infra.{module}")
    assert result.returncode == 0, tail(result)
    doc = json.loads(result.stdout)[f"flowspace.infra.{module}"]
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"], module
