"""A Go program built reproducibly from a recipe folder (go.mod, go.sum, main.go) and checked
against a pinned sha256: the same recipe, Go release and target give the same bytes on every
controller, so a checksum pinned once holds for every teammate and CI runner. No Ansible
imports: the lab's set-up loads this file by path too."""

import hashlib
import os
import subprocess

TAIL_LINES = 20


class BuildError(RuntimeError):
    pass


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_built(dest, sha256):
    return os.path.isfile(dest) and file_sha256(dest) == sha256


def build_environment(goos, goarch, environ=None):
    """Everything that changes a build's bytes set here, whatever the caller's shell has."""
    environ = dict(os.environ if environ is None else environ)
    environ.pop("GOBIN", None)
    environ.update({
        "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0",
        # The go found for the pinned release builds; it never switches to another.
        "GOTOOLCHAIN": "local",
        # Dependencies exactly as go.sum pins them; no workspace file from a parent folder.
        "GOFLAGS": "-mod=readonly", "GOWORK": "off",
        # The baseline instruction sets (Go's defaults), whatever the caller's shell says.
        "GOAMD64": "v1", "GOARM64": "v8.0",
    })
    return environ


def build(go, recipe, goos, goarch, output, *, environ=None, timeout=1800):
    """go build the recipe into output; BuildError with the last lines of go's output."""
    command = [go, "build", "-trimpath", "-buildvcs=false", "-o", output, "."]
    try:
        result = subprocess.run(command, cwd=recipe, env=build_environment(goos, goarch, environ),
                                capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise BuildError(f"go build in {recipe} for {goos}/{goarch} took over {timeout} s") from err
    except OSError as err:
        raise BuildError(f"go build in {recipe} could not start: {err}") from err
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-TAIL_LINES:])
        raise BuildError(
            f"go build in {recipe} for {goos}/{goarch} failed (exit {result.returncode}):\n{tail}")


def build_pinned(find_go, recipe, goarch, *, dest, sha256, goos="linux", environ=None, timeout=1800):
    """Make dest the recipe's binary with the pinned sha256; True when it was built now.

    A file already there with that sha256 is kept (the cache); any other is rebuilt. A build
    with another sha256 is refused and removed: dest is never a binary nobody pinned."""
    if is_built(dest, sha256):
        return False
    dest = os.path.abspath(dest)  # go runs in the recipe's folder: a relative -o would land there
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    partial = os.path.join(folder, f".{os.path.basename(dest)}.{os.getpid()}.partial")
    try:
        build(find_go(), recipe, goos, goarch, partial, environ=environ, timeout=timeout)
        got = file_sha256(partial)
        if got != sha256:
            raise BuildError(
                f"the binary built from {recipe} for {goos}/{goarch} has sha256 {got}, but {sha256} is "
                "pinned: refusing it. If the recipe (go.mod, go.sum, main.go) or the Go release changed "
                "on purpose, pin the new sha256; otherwise the build is not the one that was reviewed.")
        os.chmod(partial, 0o755)  # noqa: S103 - an executable, like any installed command
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return True
