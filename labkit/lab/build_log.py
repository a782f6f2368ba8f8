"""Long set-up steps run quietly: their output goes to a log file in the cache, whose path and
last lines are shown only when the step fails."""

import subprocess
from pathlib import Path

from labkit.lab import paths

TAIL_LINES = 30


class StepFailed(RuntimeError):
    pass


def log_path(name: str) -> Path:
    folder = paths.cache_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.log"


def run_logged(command: list[str], name: str, what: str, **kwargs) -> None:
    """Run command with stdout and stderr in logs/<name>.log; raise StepFailed naming the log."""
    log = log_path(name)
    with open(log, "w") as output:
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False, **kwargs)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-TAIL_LINES:])
        raise StepFailed(f"{what} failed (exit {result.returncode}); full log: {log}\n{tail}")
