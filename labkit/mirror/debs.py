"""The .deb packages the lab's apt repositories serve, laid out as upstream's are: Caddy's
(/usr/bin/caddy, its systemd units, /etc/caddy/Caddyfile, a postinst that makes the caddy user
and starts the service) and NodeSource's nodejs (/usr/bin/node)."""

import subprocess
import tempfile
from pathlib import Path

CADDY_UNIT = """\
[Unit]
Description=Caddy
Documentation=https://caddyserver.com/docs/
After=network.target network-online.target
Requires=network-online.target

[Service]
Type=notify
User=caddy
Group=caddy
ExecStart=/usr/bin/caddy run --environ --config /etc/caddy/Caddyfile
ExecReload=/usr/bin/caddy reload --config /etc/caddy/Caddyfile --force
TimeoutStopSec=5s
LimitNOFILE=1048576
PrivateTmp=true
ProtectSystem=full
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE

[Install]
WantedBy=multi-user.target
"""

CADDY_POSTINST = """\
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    getent group caddy >/dev/null || groupadd --system caddy
    getent passwd caddy >/dev/null || useradd --system --gid caddy --create-home \\
        --home-dir /var/lib/caddy --shell /usr/sbin/nologin --comment "Caddy web server" caddy
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable caddy.service >/dev/null
        systemctl restart caddy.service || true
    fi
fi
"""

CADDY_PRERM = """\
#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    systemctl stop caddy.service || true
fi
"""


def caddy(binary: Path, version: str, arch: str, out: Path) -> Path:
    files = {
        "usr/bin/caddy": (binary.read_bytes(), 0o755),
        "lib/systemd/system/caddy.service": (CADDY_UNIT.encode(), 0o644),
        "etc/caddy/Caddyfile": (b":80 {\n\troot * /usr/share/caddy\n\tfile_server\n}\n", 0o644),
        "usr/share/caddy/index.html": (b"<!doctype html><title>Caddy works!</title>\n", 0o644),
    }
    control = {
        "Package": "caddy",
        "Version": version,
        "Architecture": arch,
        "Section": "web",
        "Priority": "optional",
        "Maintainer": "Lab mirror <mirror@flowspace.test>",
        "Homepage": "https://caddyserver.com",
        "Description": "Caddy - Powerful, enterprise-ready, open source web server with automatic HTTPS",
    }
    scripts = {"postinst": CADDY_POSTINST, "prerm": CADDY_PRERM, "conffiles": "/etc/caddy/Caddyfile\n"}
    return build(out / f"caddy_{version}_{arch}.deb", control, files, scripts)


def nodejs(node_binary: Path, version: str, arch: str, out: Path) -> Path:
    control = {
        "Package": "nodejs",
        "Version": f"{version}-1nodesource1",
        "Architecture": arch,
        "Section": "web",
        "Priority": "optional",
        "Maintainer": "Lab mirror <mirror@flowspace.test>",
        "Homepage": "https://nodejs.org",
        "Provides": "nodejs-dev, nodejs-legacy",
        "Conflicts": "nodejs-dev, nodejs-legacy",
        "Replaces": "nodejs-dev, nodejs-legacy",
        "Description": "Node.js event-based server-side javascript engine",
    }
    files = {"usr/bin/node": (node_binary.read_bytes(), 0o755)}
    return build(out / f"nodejs_{version}-1nodesource1_{arch}.deb", control, files, {})


def build(target: Path, control: dict, files: dict, scripts: dict) -> Path:
    """dpkg-deb --build of a tree with FILES ({path: (bytes, mode)}) and the control SCRIPTS."""
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        for path, (data, mode) in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
            (root / path).chmod(mode)
        meta = root / "DEBIAN"
        meta.mkdir()
        (meta / "control").write_text("".join(f"{k}: {v}\n" for k, v in control.items()))
        for name, text in scripts.items():
            (meta / name).write_text(text)
            (meta / name).chmod(0o644 if name == "conffiles" else 0o755)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        # gzip at its fastest: dpkg-deb's default (xz) takes most of a minute for a Node.js
        # binary, and these packages only cross the machine's own bridge.
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(root), str(partial)],
            capture_output=True,
            check=True,
        )
        partial.rename(target)
    return target
