"""The collection ecosystem's own gate: `ansible-test sanity` on flowspace.infra (docs, imports
without optional packages, pylint, validate-modules, ...)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_test

from support import REPO_ROOT, VENV_BIN, tail

COLLECTION = REPO_ROOT / "collections" / "ansible_collections" / "flowspace" / "infra"
PIP_BOOTSTRAP = REPO_ROOT / "tools" / "ansible_test_pip_bootstrap.py"


def seed_pip_bootstrap() -> None:
    """ansible-test fetches a get-pip script from ci-files.testing.ansible.com, which these
    machines cannot reach; its cache gets the project's stand-in for that script instead."""
    requirements = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    found = re.search(r"pip='([0-9.]+)'", requirements.read_text())
    assert found, f"no pinned pip version in {requirements}: ansible-test changed how it bootstraps pip"
    cached = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{found.group(1).replace('.', '_')}.py"
    if not cached.exists() or cached.read_bytes() != PIP_BOOTSTRAP.read_bytes():
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PIP_BOOTSTRAP, cached)


def test_ansible_test_sanity_passes() -> None:
    seed_pip_bootstrap()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = subprocess.run(
        [str(VENV_BIN / "ansible-test"), "sanity", "--python", python, "--local", "--color", "no"],
        cwd=COLLECTION, capture_output=True, text=True, timeout=900, check=False,
        env={"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert result.returncode == 0, tail(result, 80)
    ran = re.findall(r'Running sanity test "([a-z0-9-]+)"', result.stdout + result.stderr)
    assert {"validate-modules", "pylint", "import", "ansible-doc"} <= set(ran), ran
