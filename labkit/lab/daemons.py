"""Background processes of the lab (Pebble, its DNS server, the Vercel API emulator): started
detached with a pid file and a log in a state folder, found again by a later command."""

import os
import signal
import subprocess
import time
from pathlib import Path


def spawn(state_dir: Path, name: str, command: list[str], env: dict[str, str],
          log: Path | None = None) -> None:
    log = log or state_dir / f"{name}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **env}, cwd=state_dir,
        )
    (state_dir / f"{name}.pid").write_text(str(process.pid))


def pid(state_dir: Path, name: str) -> int | None:
    try:
        return int((state_dir / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def alive(state_dir: Path, name: str, command_marker: bytes) -> bool:
    """Whether the recorded process still runs and is ours (its command line holds the marker),
    not a stranger that reused the pid."""
    number = pid(state_dir, name)
    if not number:
        return False
    try:
        os.kill(number, 0)
        return command_marker in Path(f"/proc/{number}/cmdline").read_bytes()
    except (ProcessLookupError, FileNotFoundError):
        return False


def stop(state_dir: Path, markers: dict[str, bytes]) -> list[str]:
    """Stop each named process that is alive; returns the names stopped."""
    stopped = []
    for name, marker in markers.items():
        number = pid(state_dir, name)
        if number and alive(state_dir, name, marker):
            os.kill(number, signal.SIGTERM)
            stopped.append(name)
        (state_dir / f"{name}.pid").unlink(missing_ok=True)
    time.sleep(0.5 if stopped else 0)
    return stopped
