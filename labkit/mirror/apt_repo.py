"""A signed apt repository from .deb files: pool/, Packages(.gz) per architecture, Release
with its hashes, InRelease and Release.gpg (what apt verifies against the source's Signed-By)."""

import email.utils
import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

from labkit.mirror.signing import Signer


def control_fields(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
    ).stdout.strip()


def package_stanza(deb: Path, filename: str) -> str:
    data = deb.read_bytes()
    return "\n".join(
        [
            control_fields(deb),
            f"Filename: {filename}",
            f"Size: {len(data)}",
            f"MD5sum: {hashlib.md5(data).hexdigest()}",  # noqa: S324 - apt's index field, not security
            f"SHA256: {hashlib.sha256(data).hexdigest()}",
        ]
    )


def field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def replace(path: Path, data: bytes) -> None:
    """Write a new file in PATH's place (a copy of the mirror shares its files as hard links)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def build(
    root: Path, suite: str, debs: list[Path], signer: Signer, *, origin: str, component: str = "main"
) -> None:
    """Write the repository for SUITE under ROOT (the source's URI) serving DEBS."""
    by_arch: dict[str, list[str]] = {}
    for deb in debs:
        name, arch = field(deb, "Package"), field(deb, "Architecture")
        filename = f"pool/{suite}/{component}/{name[0]}/{name[:2]}/{deb.name}"
        target = root / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or not target.samefile(deb):
            target.unlink(missing_ok=True)
            shutil.copyfile(deb, target)
        by_arch.setdefault(arch, []).append(package_stanza(deb, filename))
    dists = root / "dists" / suite
    indexes = []
    for arch, stanzas in sorted(by_arch.items()):
        folder = dists / component / f"binary-{arch}"
        folder.mkdir(parents=True, exist_ok=True)
        text = ("\n\n".join(stanzas) + "\n").encode()
        replace(folder / "Packages", text)
        replace(folder / "Packages.gz", gzip.compress(text, mtime=0))
        indexes += [folder / "Packages", folder / "Packages.gz"]
    release = dists / "Release"
    lines = [
        f"Origin: {origin}",
        f"Label: {origin}",
        f"Suite: {suite}",
        f"Codename: {suite}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Architectures: {' '.join(sorted(by_arch))}",
        f"Components: {component}",
    ]
    for title, algorithm in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        lines.append(f"{title}:")
        for index in indexes:
            data = index.read_bytes()
            lines.append(f" {algorithm(data).hexdigest()} {len(data)} {index.relative_to(dists)}")
    replace(release, ("\n".join(lines) + "\n").encode())
    signer.sign_release(release)
