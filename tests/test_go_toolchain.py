"""labkit.go_toolchain: the go.sum hash it checks a fetched toolchain with is Go's own, and a
toolchain whose hash differs from the pinned one is refused and leaves nothing behind."""

import http.server
import json
import subprocess
import threading
import zipfile

import pytest

from labkit.lab import go_toolchain

pytestmark = pytest.mark.machine


def write_module_zip(path, prefix: str, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(prefix + name, content)


def test_module_hash_is_the_one_go_itself_computes(tmp_path) -> None:
    """Serve a module from a file proxy and let the real go tool hash it (no network)."""
    proxy = tmp_path / "proxy" / "example.com" / "tiny" / "@v"
    proxy.mkdir(parents=True)
    files = {"go.mod": b"module example.com/tiny\n", "tiny.go": b"package tiny\n",
             "bin/tool": b"\x00\x01binary"}
    write_module_zip(proxy / "v1.0.0.zip", "example.com/tiny@v1.0.0/", files)
    (proxy / "v1.0.0.mod").write_bytes(files["go.mod"])
    (proxy / "v1.0.0.info").write_text('{"Version":"v1.0.0"}')
    (proxy / "list").write_text("v1.0.0\n")
    env = {"GOPROXY": f"file://{tmp_path / 'proxy'}", "GOSUMDB": "off", "GOFLAGS": "-modcacherw",
           "GOMODCACHE": str(tmp_path / "modcache"), "GOPATH": str(tmp_path / "gopath"),
           "HOME": str(tmp_path), "GOTOOLCHAIN": "local"}
    result = subprocess.run([go_toolchain.go(), "mod", "download", "-json", "example.com/tiny@v1.0.0"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    assert go_toolchain.module_hash(proxy / "v1.0.0.zip") == json.loads(result.stdout)["Sum"]


@pytest.fixture
def proxy_serving(tmp_path):
    """A loopback HTTP module proxy serving one (wrong) toolchain zip."""
    version = f"v0.0.1-go{go_toolchain.PINNED}.linux-amd64"
    folder = tmp_path / "served" / "golang.org" / "toolchain" / "@v"
    folder.mkdir(parents=True)
    write_module_zip(folder / f"{version}.zip", f"golang.org/toolchain@{version}/",
                     {"bin/go": b"#!/bin/sh\necho tampered\n"})

    def handler(*args, **kwargs):
        return http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path / "served"), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_toolchain_with_another_hash_is_refused(proxy_serving, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GOPROXY", f"{proxy_serving},direct")
    target = tmp_path / "cache" / "go" / "go-under-test"
    with pytest.raises(RuntimeError, match="expected h1:.*refusing it"):
        go_toolchain.fetch("amd64", target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
