"""Lint gates: every file the project ships passes its linter, every playbook parses."""

import json
import re
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
    to either alone fails here until `./flowspace readmes` is run."""
    readme = (role / "README.md").read_text()
    assert role_readme.rendered(role) == readme, (
        f"{role.name}/README.md's variables table is not its spec's; run ./flowspace readmes")
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


STACK_VARIABLE = re.compile(r"\bflowspace_[a-z0-9_]+")


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_reads_no_stack_variable(role: Path) -> None:
    """A role takes only its own variables: the stack's (flowspace_*) reach it through
    playbooks/inputs/. (Prometheus metric names in templates are not variables.)"""
    readers = []
    for path in sorted(role.rglob("*")):
        if path.suffix not in {".yml", ".j2"} or path.name == "rules.yml.j2":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if "{{" in code or "when:" in code or "that:" in code or path.suffix == ".j2":
                names = [name for name in STACK_VARIABLE.findall(code) if name != "flowspace_access_log"]
                if names:
                    readers.append(f"{path.relative_to(REPO_ROOT)}:{number}: {names}")
    assert not readers, "roles read the stack's variables:\n" + "\n".join(readers)


def test_no_playbook_or_role_repeats_a_shared_default() -> None:
    """The stack's shared defaults (module_utils/stack_defaults.py) are read through the
    stack_default lookup; a literal copy as a `default(...)` fallback or a role default would
    drift from it unseen."""
    from ansible_collections.flowspace.infra.plugins.module_utils.stack_defaults import (  # noqa: PLC0415
        STACK_DEFAULTS,
    )
    copies = []
    places = [*(REPO_ROOT / "playbooks").rglob("*.yml"), *(REPO_ROOT / "roles").glob("*/defaults/main.yml"),
              *(REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")]
    for path in places:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for value in (re.escape(str(value)) for value in STACK_DEFAULTS.values()):
                literal = rf"(default\(\s*'?{value}'?\s*\)|^\s*[a-z_]+:\s*'?{value}'?\s*$)"
                if re.search(literal, line.split("#", 1)[0]):
                    copies.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not copies, "shared defaults written out again:\n" + "\n".join(copies)


def standalone_playbook(role: Path) -> str:
    readme = (role / "README.md").read_text()
    section = readme.split("## Use it on its own", 1)
    assert len(section) == 2, f"{role.name}/README.md has no 'Use it on its own' section"
    block = re.search(r"```yaml\n(.*?)```", section[1], re.S)
    assert block, f"{role.name}/README.md's 'Use it on its own' has no YAML playbook"
    return block.group(1)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_role_readme_shows_it_used_alone(role: Path, tmp_path: Path) -> None:
    """The README's playbook uses the role outside the stack: it parses, applies the role, and
    gives it only role-prefixed variables of its spec."""
    text = standalone_playbook(role)
    plays = yaml.safe_load(text)
    given = {name for play in plays for entry in play.get("roles", []) if entry["role"] == role.name
             for name in entry.get("vars", {})}
    assert given, f"{role.name}/README.md's playbook does not apply the role with its variables"
    assert given <= role_options(role), f"not {role.name}'s variables: {sorted(given - role_options(role))}"
    (tmp_path / "playbook.yml").write_text(text)
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"hosts": {name: {} for play in plays for name in [play["hosts"]]}}}))
    result = run_tool("ansible-playbook", "--syntax-check", "-i", str(tmp_path / "hosts.yml"),
                      str(tmp_path / "playbook.yml"))
    assert result.returncode == 0, tail(result)


MODULES_DIR = REPO_ROOT / "collections/ansible_collections/flowspace/infra/plugins/modules"
MODULES = sorted(path.stem for path in MODULES_DIR.glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module: str) -> None:
    result = run_tool("ansible-doc", "--json", f"flowspace.infra.{module}")
    assert result.returncode == 0, tail(result)
    doc = json.loads(result.stdout)[f"flowspace.infra.{module}"]
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"], module
