"""Every molecule scenario in molecule/ passes its full sequence (idempotence and verify included)."""

import pytest

from support import REPO_ROOT, run_tool, tail

SCENARIOS = sorted(path.parent.name for path in (REPO_ROOT / "molecule").glob("*/molecule.yml"))

pytestmark = pytest.mark.molecule


def test_scenarios_are_discovered() -> None:
    assert "base_hardening" in SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    result = run_tool("molecule", "test", "-s", scenario, timeout=2400)
    assert result.returncode == 0, tail(result, 150)
