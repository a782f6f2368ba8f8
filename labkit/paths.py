"""Where the lab keeps things: recipes in the checkout, machine-wide state in a cache dir."""

import subprocess
from pathlib import Path

from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = REPO_ROOT / "images"


def cache_dir() -> Path:
    """Machine-wide, like the Docker images built from it, so fresh clones reuse both."""
    path = Path(flowspace_cache_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path


def lab_key() -> Path:
    """The lab's admin SSH key (baked into the test images), generated once per machine."""
    key = cache_dir() / "lab_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flowspace-lab", "-f", str(key)],
            check=True,
        )
    return key


def host_ca_bundle() -> Path:
    """The build host's CA bundle; containers need it to pass the registries' TLS proxy."""
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("no system CA bundle found on the build host")
