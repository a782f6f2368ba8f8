"""Offline test-host images: debootstrap a Debian root, `docker import` it, `docker build` on top.

No registry can be pulled from, so every layer is made from Debian packages. Each image is
tagged by a hash of its recipe and is rebuilt only when that recipe changes.
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labkit.lab import build_log, paths

# Bump when the way base roots are made changes in a way the inputs below do not show.
BASE_RECIPE_REVISION = "1"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Flavour:
    name: str
    suite: str


FLAVOURS = {
    "debian12": Flavour("debian12", "bookworm"),
    "debian13": Flavour("debian13", "trixie"),
}
OCI_BASE_REPO = "flowspace/oci-base"
OCI_LIKE_REPO = "flowspace/oci-like"
FIRSTBOOT_REPO = "flowspace/oci-firstboot"
BASE_REPO = "flowspace/debian-systemd"


def _digest(parts: list[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()[:12]


def _tree_parts(root: Path) -> list[bytes]:
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts.append(str(path.relative_to(root)).encode())
        parts.append(path.read_bytes())
    return parts


def base_tag(flavour: Flavour) -> str:
    recipe = [BASE_RECIPE_REVISION.encode(), flavour.suite.encode(), " ".join(BASE_PACKAGES).encode()]
    return f"{BASE_REPO}:{flavour.name}-{_digest(recipe)}"


def oci_base_tag(flavour: Flavour) -> str:
    """What every OCI-like host shares (images/oci-base)."""
    recipe = [base_tag(flavour).encode(), *_tree_parts(paths.IMAGES_DIR / "oci-base")]
    recipe.append(paths.host_ca_bundle().read_bytes())
    return f"{OCI_BASE_REPO}:{flavour.name}-{_digest(recipe)}"


def oci_like_tag(flavour: Flavour, recipe_dir: Path | None = None) -> str:
    recipe_dir = recipe_dir or paths.IMAGES_DIR / "oci-like"
    recipe = [oci_base_tag(flavour).encode(), *_tree_parts(recipe_dir)]
    recipe.append(paths.lab_key().with_suffix(".pub").read_bytes())
    return f"{OCI_LIKE_REPO}:{flavour.name}-{_digest(recipe)}"


def firstboot_tag(flavour: Flavour) -> str:
    """A host as Oracle boots it before cloud-init ran: no user, no key, cloud-init waiting
    for its user-data (images/oci-firstboot)."""
    recipe = [oci_base_tag(flavour).encode(), *_tree_parts(paths.IMAGES_DIR / "oci-firstboot")]
    return f"{FIRSTBOOT_REPO}:{flavour.name}-{_digest(recipe)}"


def alias_tag(flavour: Flavour) -> str:
    """The moving tag molecule and the lab use; it always points at the current recipe."""
    return f"{OCI_LIKE_REPO}:{flavour.name}"


def image_exists(tag: str) -> bool:
    inspect = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return inspect.returncode == 0


def _log(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


def build_base(flavour: Flavour, mirror: str = DEFAULT_MIRROR) -> str:
    tag = base_tag(flavour)
    if image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (Debian/Ubuntu: apt-get install debootstrap)")
    log_name = f"debootstrap-{flavour.name}"
    _log(f"debootstrapping {flavour.suite} for {tag} (about a minute, once per recipe; "
         f"log: {build_log.log_path(log_name)})")
    with tempfile.TemporaryDirectory(prefix=f"flowspace-{flavour.name}-", dir="/var/tmp") as work:
        root = Path(work) / "root"
        try:
            build_log.run_logged(
                ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                 flavour.suite, str(root), mirror],
                log_name, f"debootstrap of {flavour.suite}",
            )
        finally:
            # debootstrap can leave the root's /proc (or /sys) mounted; neither the tar below
            # nor the clean-up of the folder may walk into a live /proc.
            _unmount_under(root)
        tar = subprocess.Popen(
            ["tar", "-C", str(root), "-c", "--numeric-owner",
             "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "."],
            stdout=subprocess.PIPE,
        )
        subprocess.run(
            ["docker", "import", "--change", 'CMD ["/lib/systemd/systemd"]', "-", tag],
            stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            raise RuntimeError(f"tar of the {flavour.suite} root failed")
    return tag


def _unmount_under(root: Path) -> None:
    """Unmount every mount point below root, deepest first."""
    prefix = str(root) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def _build_layer(tag: str, recipe_dir: Path, base: str, context_files: dict[str, Path]) -> None:
    """`docker build` of recipe_dir on base, with extra files under context/, unless tag exists."""
    if image_exists(tag):
        return
    _log(f"building {tag} (docker build, under a minute)")
    with tempfile.TemporaryDirectory(prefix="flowspace-build-") as work:
        context = Path(work)
        shutil.copytree(recipe_dir, context, dirs_exist_ok=True)
        (context / "context").mkdir()
        for name, source in context_files.items():
            shutil.copy(source, context / "context" / name)
        # Output only on failure: the legacy builder's deprecation banner is noise here.
        result = subprocess.run(
            ["docker", "build", "--build-arg", f"BASE_IMAGE={base}",
             "--label", f"org.flowspace.recipe={tag}", "-t", tag, str(context)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker build of {tag} failed:\n{result.stdout[-4000:]}{result.stderr}")


def build_oci_base(flavour: Flavour) -> str:
    tag = oci_base_tag(flavour)
    _build_layer(tag, paths.IMAGES_DIR / "oci-base", build_base(flavour),
                 {"ca-certificates.crt": paths.host_ca_bundle()})
    return tag


def build_oci_like(flavour: Flavour) -> str:
    tag = oci_like_tag(flavour)
    _build_layer(tag, paths.IMAGES_DIR / "oci-like", build_oci_base(flavour),
                 {"authorized_keys": paths.lab_key().with_suffix(".pub")})
    subprocess.run(["docker", "tag", tag, alias_tag(flavour)], check=True)
    return tag


def build_firstboot(flavour: Flavour) -> str:
    tag = firstboot_tag(flavour)
    _build_layer(tag, paths.IMAGES_DIR / "oci-firstboot", build_oci_base(flavour), {})
    return tag


def build(names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in FLAVOURS]
    if unknown:
        raise ValueError(f"unknown image flavour(s) {unknown}; choose from {sorted(FLAVOURS)}")
    return [build_oci_like(FLAVOURS[name]) for name in names]
