"""Helpers shared by the tests: the repository, the venv's tools, output tails."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def run_tool(*command: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a venv tool from the repository root; output captured for the assertion message."""
    full_env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), **(env or {})}
    full_env["PATH"] = f"{VENV_BIN}:{full_env.get('PATH', '')}"
    return subprocess.run(
        list(command), cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=full_env,
        check=False,
    )


def tail(result: subprocess.CompletedProcess, lines: int = 60) -> str:
    out = (result.stdout + "\n" + result.stderr).strip().splitlines()
    return "\n".join(out[-lines:])
