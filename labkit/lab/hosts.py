"""OCI-like host containers for the lab and the tests, started exactly as molecule starts them.

The container options come from the shared molecule platform definition
(.config/molecule/config.yml), so the lab, pytest and molecule boot hosts the same way.
"""

import socket
import subprocess
import time
from dataclasses import dataclass, field

import yaml

from labkit.lab import images, paths

PLATFORM_FILE = paths.REPO_ROOT / ".config" / "molecule" / "config.yml"
LABEL = "org.flowspace.lab=1"


def shared_platform(flavour: str) -> dict:
    """The molecule platform entry for a flavour (anchors and merge keys resolved)."""
    platforms = yaml.safe_load(PLATFORM_FILE.read_text())["platforms"]
    for platform in platforms:
        if platform["name"] == flavour:
            return platform
    raise KeyError(f"no platform named {flavour!r} in {PLATFORM_FILE}")


def docker_run_args(platform: dict) -> list[str]:
    """Translate molecule docker-driver keys into `docker run` flags."""
    args = []
    if platform.get("cgroupns_mode"):
        args += ["--cgroupns", platform["cgroupns_mode"]]
    for cap in platform.get("capabilities", []):
        args += ["--cap-add", cap]
    for opt in platform.get("security_opts", []):
        args += ["--security-opt", opt]
    for volume in platform.get("volumes", []):
        args += ["-v", volume]
    for mount in platform.get("tmpfs", []):
        args += ["--tmpfs", mount]
    for key, value in platform.get("env", {}).items():
        args += ["-e", f"{key}={value}"]
    for name, address in platform.get("etc_hosts", {}).items():
        args += ["--add-host", f"{name}:{address}"]
    if platform.get("stop_signal"):
        args += ["--stop-signal", platform["stop_signal"]]
    return args


@dataclass
class Host:
    """A running OCI-like host container, reachable over SSH on a loopback port."""

    name: str
    flavour: str
    ssh_port: int
    published: dict[int, int] = field(default_factory=dict)

    def exec(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "exec", self.name, *command], capture_output=True, text=True, check=check
        )

    def ip_address(self) -> str:
        return subprocess.run(
            ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
             self.name],
            capture_output=True, text=True, check=True,
        ).stdout.strip()


def start(name: str, flavour: str, ssh_port: int, published: dict[int, int] | None = None, *,
          timeout: float = 90, reuse: bool = False, image: str | None = None,
          extra_args: list[str] | None = None) -> Host:
    """Start (or replace) a host container and wait until systemd and sshd are up.

    With reuse, a running container of the same name made from the current image is kept, so a
    re-run converges the host it converged before instead of a new one. `image` replaces the
    flavour's OCI-like image (same platform options); `extra_args` go to `docker run`.
    """
    platform = shared_platform(flavour)
    if image is None:
        images.build([flavour])
    image = image or platform["image"]
    published = published or {}
    if reuse and _running_from(name, image):
        host = Host(name, flavour, ssh_port, published)
        wait_until_booted(host, timeout)
        return host
    remove(name)
    ports = ["-p", f"127.0.0.1:{ssh_port}:22"]
    for container_port, host_port in published.items():
        ports += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
         *docker_run_args(platform), *(extra_args or []), *ports, image, platform["command"]],
        check=True, stdout=subprocess.DEVNULL,
    )
    host = Host(name, flavour, ssh_port, published)
    wait_until_booted(host, timeout)
    return host


def wait_until_booted(host: Host, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = host.exec("systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded") and _ssh_banner(host.ssh_port):
            if state == "degraded":
                failed = host.exec("systemctl", "--failed", "--no-legend", check=False).stdout
                raise RuntimeError(f"{host.name} booted degraded; failed units:\n{failed}")
            return
        time.sleep(1)
    raise TimeoutError(f"{host.name} did not boot within {timeout}s (systemd: {state or 'unknown'})")


def _running_from(name: str, image: str) -> bool:
    def inspect(*args: str) -> str:
        return subprocess.run(["docker", "inspect", *args], capture_output=True, text=True,
                              check=False).stdout.strip()

    running = inspect("-f", "{{.State.Running}} {{.Image}}", name).split()
    return running[:1] == ["true"] and running[1:] == [inspect("-f", "{{.Id}}", image)]


def _ssh_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def remove(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def lab_containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return out.split()
