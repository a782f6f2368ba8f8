"""Exactly one Go release, for builds whose checksum is pinned: a binary's bytes depend on the Go
release that built it, so "new enough" is not enough.

The machine's own go when it is that release; otherwise the release fetched once from the Go
module proxy as the module golang.org/toolchain (what go's own GOTOOLCHAIN switches to), checked
against its go.sum hash, pinned by the caller, and unpacked into a cache folder. The lab's
set-up loads this file by path too (it imports nothing else of the collection's)."""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

DEFAULT_PROXY = "https://proxy.golang.org"
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
GOOS = {"linux": "linux", "darwin": "darwin"}


class ToolchainError(RuntimeError):
    pass


def this_platform(system=None, machine=None):
    """Go's name for the controller's platform ('linux-amd64', 'darwin-arm64', ...)."""
    system = system or sys.platform
    machine = machine or os.uname().machine
    if system not in GOOS or machine not in GOARCH:
        raise ToolchainError(f"no Go toolchain is pinned for this controller ({system}, {machine})")
    return f"{GOOS[system]}-{GOARCH[machine]}"


def parse_version(text):
    """(1, 26, 8) of 'go1.26.8' or '1.26.8'; None when it is not a Go release."""
    match = re.fullmatch(r"(?:go)?(\d+)\.(\d+)(?:\.(\d+))?", (text or "").strip())
    return tuple(int(part or 0) for part in match.groups()) if match else None


def version_of(go):
    """The release of a go binary, or None when it does not run."""
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True,
                             timeout=60, env={**os.environ, "GOTOOLCHAIN": "local"}).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(out)


def machine_go(version):
    """The machine's go when it is exactly VERSION."""
    for candidate in (shutil.which("go"), "/usr/local/go/bin/go"):
        if candidate and os.path.exists(candidate) and version_of(candidate) == parse_version(version):
            return candidate
    return None


def module_hash(archive):
    """Go's dirhash "h1:" of a module zip: the sha256 of the sorted 'sha256  name' lines."""
    lines = []
    with zipfile.ZipFile(archive) as zipped:
        for name in sorted(zipped.namelist()):
            lines.append(f"{hashlib.sha256(zipped.read(name)).hexdigest()}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def proxy_url(environ=None):
    """The first HTTP proxy of GOPROXY, as go itself would use."""
    environ = os.environ if environ is None else environ
    for entry in re.split(r"[,|]", environ.get("GOPROXY") or DEFAULT_PROXY):
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    return DEFAULT_PROXY


def unpack(archive, prefix, target):
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            if member.is_dir() or not member.filename.startswith(prefix):
                continue
            path = os.path.join(target, member.filename[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(zipped.read(member))
    # Module zips keep no file modes; the commands are what go itself marks executable.
    tools = os.path.join(target, "pkg", "tool")
    folders = [os.path.join(target, "bin")]
    if os.path.isdir(tools):
        folders += [os.path.join(tools, name) for name in sorted(os.listdir(tools))]
    for folder in folders:
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            os.chmod(os.path.join(folder, name), 0o755)  # noqa: S103 - go's own commands


def fetch(version, expected_hash, platform, root, *, environ=None, timeout=600):
    """Download, verify and unpack Go VERSION for PLATFORM into ROOT; returns its bin/go.
    Nothing is left behind when the download fails or its hash is not the pinned one."""
    module_version = f"v0.0.1-go{version}.{platform}"
    url = f"{proxy_url(environ)}/golang.org/toolchain/@v/{module_version}.zip"
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as work:
        archive = os.path.join(work, "toolchain.zip")
        try:
            with open_url(url, timeout=timeout) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, UrlConnectionError) as err:
            raise ToolchainError(f"could not fetch Go {version} from {url}: {err}") from err
        try:
            got = module_hash(archive)
        except zipfile.BadZipFile as err:
            raise ToolchainError(f"Go {version} from {url} is not a zip file: refusing it") from err
        if got != expected_hash:
            raise ToolchainError(
                f"Go {version} from {url} has hash {got}, expected {expected_hash}: refusing it")
        unpacked = os.path.join(work, "go")
        unpack(archive, f"golang.org/toolchain@{module_version}/", unpacked)
        os.rename(unpacked, root)
    return os.path.join(root, "bin", "go")


def pinned_go(version, hashes, cache_root, environ=None, platform=None):
    """The go of exactly VERSION: the machine's, else one fetched before into CACHE_ROOT, else
    fetched now and checked against HASHES[platform]."""
    found = machine_go(version)
    if found:
        return found
    platform = platform or this_platform()
    root = os.path.join(cache_root, f"go{version}.{platform}")
    go = os.path.join(root, "bin", "go")
    if os.path.exists(go):
        return go
    if platform not in hashes:
        raise ToolchainError(f"no go.sum hash is pinned for Go {version} on {platform} "
                             f"(pinned for: {', '.join(sorted(hashes)) or 'none'})")
    return fetch(version, hashes[platform], platform, root, environ=environ)
