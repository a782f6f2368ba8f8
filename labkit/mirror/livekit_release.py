"""A LiveKit release folder as GitHub serves it (goreleaser's layout): for each architecture
livekit_<version>_linux_<arch>.tar.gz holding livekit-server and LICENSE at its top, and one
checksums.txt of `<sha256>  <file name>` lines."""

import hashlib
import io
import tarfile
from pathlib import Path

LICENSE = b"Apache License, Version 2.0 (lab mirror of a livekit-server build)\n"


def tarball_name(version: str, arch: str) -> str:
    return f"livekit_{version}_linux_{arch}.tar.gz"


def build(folder: Path, version: str, binaries: dict[str, Path]) -> Path:
    """FOLDER/v<version>/ with a tarball per {arch: binary} and checksums.txt; returns it."""
    release = folder / f"v{version}"
    release.mkdir(parents=True, exist_ok=True)
    sums = []
    for arch, binary in sorted(binaries.items()):
        target = release / tarball_name(version, arch)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            members = (("livekit-server", binary.read_bytes(), 0o755), ("LICENSE", LICENSE, 0o644))
            for name, data, mode in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
        target.unlink(missing_ok=True)  # a copy of the mirror shares its files as hard links
        target.write_bytes(buffer.getvalue())
        sums.append(f"{hashlib.sha256(target.read_bytes()).hexdigest()}  {target.name}")
    (release / "checksums.txt").unlink(missing_ok=True)
    (release / "checksums.txt").write_text("\n".join(sums) + "\n")
    return release
