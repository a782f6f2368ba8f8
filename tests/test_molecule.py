"""Every molecule scenario in molecule/ (one per role): converge, idempotence (0 changed), check
mode on a new host (no failure) and on the converged one (0 changed), and verify against the
real service, on Debian 13. The steps run one by one, so each check run's recap is its own."""

import re

import pytest

from support import REPO_ROOT, run_tool, tail

SCENARIOS = sorted(path.parent.name for path in (REPO_ROOT / "molecule").glob("*/molecule.yml"))
ROLES = sorted(path.name for path in (REPO_ROOT / "roles").iterdir() if (path / "tasks").is_dir())
RECAP = re.compile(r"([\w.-]+)\s+: ok=\d+\s+changed=(\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.molecule


# The roles alone on Debian 13 (.config/molecule/config.yml); the stack's tests cover Debian 12.
ON_DEBIAN_13 = {"MOLECULE_DEBIAN12_GROUP": "spare"}


def molecule(scenario: str, action: str) -> str:
    result = run_tool("molecule", action, "-s", scenario, timeout=1500, env=ON_DEBIAN_13)
    assert result.returncode == 0, f"molecule {action} -s {scenario}:\n{tail(result, 150)}"
    return result.stdout + result.stderr


def test_every_role_has_a_scenario() -> None:
    missing = sorted(set(ROLES) - set(SCENARIOS))
    assert not missing, f"roles without a molecule scenario: {missing}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    try:
        molecule(scenario, "destroy")
        molecule(scenario, "create")
        # A new host: check mode must not fail (what it would change, it only says).
        molecule(scenario, "check")
        molecule(scenario, "converge")
        molecule(scenario, "idempotence")
        converged = molecule(scenario, "check")
        recaps = RECAP.findall(ANSI.sub("", converged))
        assert recaps, f"no play recap in the check run:\n{converged[-3000:]}"
        changed = {host: int(count) for host, count in recaps if int(count)}
        assert not changed, f"check mode on the converged hosts would change {changed}:\n{converged[-4000:]}"
        molecule(scenario, "verify")
    finally:
        run_tool("molecule", "destroy", "-s", scenario, timeout=600, env=ON_DEBIAN_13)
