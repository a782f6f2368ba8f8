"""What every benchmark writes with its figures: the machine they were measured on."""

import json
import os
from pathlib import Path


def machine() -> dict:
    """The core count and load average: on a shared machine, what the figures are relative to."""
    return {"cores": os.cpu_count(), "loadavg": os.getloadavg()}


def write(path: str, **figures) -> None:
    """FIGURES as JSON at PATH, with the machine; nothing when PATH is empty (no --json)."""
    if path:
        Path(path).write_text(json.dumps({**machine(), **figures}, indent=2))
