"""A CI runner's job, run here: a clean checkout (the repository's tracked files) in a fresh
container of the lab's Debian image, with the secrets given as environment variables only, the
way a GitHub Actions step runs `./flowspace ...`. The build cache (~/.cache/flowspace, what the
workflows restore with actions/cache) and pip's are shared; nothing else of this machine is."""

import os
import subprocess
from pathlib import Path

from support import REPO_ROOT

IMAGE = "flowspace/oci-like:debian12"
CACHE = Path(os.environ.get("FLOWSPACE_CACHE_DIR", Path.home() / ".cache" / "flowspace"))
PIP_CACHE = Path.home() / ".cache" / "pip"
# What ubuntu-24.04 runners have and the Debian image lacks.
RUNNER_PACKAGES = "python3-venv openssh-client"


def clean_checkout(destination: Path) -> Path:
    """The repository's tracked files, as actions/checkout leaves them (no .venv, no node_modules)."""
    destination.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    packed = subprocess.run(["tar", "-c", "--null", "-T", "-", "-f", "-"], cwd=REPO_ROOT, input=files,
                            capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-f", "-"], cwd=destination, input=packed, check=True)
    return destination


def run_step(checkout: Path, command: str, secrets: dict[str, str], mounts: list[Path],
             timeout: float = 1500) -> subprocess.CompletedProcess:
    """`command` run from `checkout` in a fresh container on the host's network (the lab's hosts
    and stand-ins listen on loopback). `secrets` reach it as environment variables only (named on
    docker's command line, valued from this process's environment); `mounts` are bound at their
    own paths, as are the checkout and the caches."""
    PIP_CACHE.mkdir(parents=True, exist_ok=True)
    volumes = [f"{path}:{path}" for path in {checkout, CACHE, *mounts}] + [f"{PIP_CACHE}:/root/.cache/pip"]
    script = (f"apt-get update -qq >/dev/null && apt-get install -qq -y {RUNNER_PACKAGES} >/dev/null"
              f" && {command}")
    docker = ["docker", "run", "--rm", "--network", "host", "--entrypoint", "/bin/sh", "-w", str(checkout)]
    for volume in volumes:
        docker += ["-v", volume]
    for name in secrets:
        docker += ["-e", name]
    env = {**os.environ, **secrets}
    return subprocess.run([*docker, IMAGE, "-c", script], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
