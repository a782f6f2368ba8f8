"""Where the lab keeps things: recipes in the checkout, machine-wide state in a cache dir."""

import functools
import importlib.util
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO_ROOT / "images"
# Rules the lab shares with production live in the collection's module_utils (Ansible and
# scripts/setup.sh read the same files); loaded by path so that Ansible's own collection loader
# stays the one that imports the collection.
MODULE_UTILS = (REPO_ROOT / "collections" / "ansible_collections" / "flowspace" / "infra"
                / "plugins" / "module_utils")


@functools.cache
def load_module_utils(name: str):
    """One of the collection's module_utils that import nothing of Ansible's."""
    spec = importlib.util.spec_from_file_location(f"flowspace_module_utils_{name}",
                                                  MODULE_UTILS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cache_dir() -> Path:
    """Machine-wide, like the Docker images built from it, so fresh clones reuse both."""
    path = Path(load_module_utils("cache_dir").flowspace_cache_dir())
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
