"""module_utils.go_toolchain: exactly the pinned Go release, the machine's or one fetched from a
Go module proxy and checked against its go.sum hash (the same hash go itself computes); a
toolchain with another hash, a failed download or a platform without a pin is refused and
leaves nothing behind."""

import http.server
import json
import os
import subprocess
import threading
import zipfile

import pytest

from ansible_collections.flowspace.infra.plugins.module_utils import go_toolchain
from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir


def write_module_zip(path, prefix, files):
    with zipfile.ZipFile(path, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(prefix + name, content)


@pytest.fixture(scope="module")
def go():
    fetched = os.path.join(flowspace_cache_dir(), "go", "go1.26.8.linux-amd64", "bin", "go")
    found = go_toolchain.machine_go("1.26.8") or fetched
    assert os.path.exists(found), "the set-up provides Go 1.26.8"
    return found


def test_module_hash_is_the_one_go_itself_computes(go, tmp_path) -> None:
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
    result = subprocess.run([go, "mod", "download", "-json", "example.com/tiny@v1.0.0"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    assert go_toolchain.module_hash(proxy / "v1.0.0.zip") == json.loads(result.stdout)["Sum"]


TOOLCHAIN = "v0.0.1-go1.99.1.linux-amd64"
GO_SCRIPT = b"#!/bin/sh\necho go1.99.1\n"


@pytest.fixture
def proxy(tmp_path):
    """A loopback HTTP module proxy serving the toolchain zips put in its folder."""
    folder = tmp_path / "served" / "golang.org" / "toolchain" / "@v"
    folder.mkdir(parents=True)

    def handler(*args, **kwargs):
        return http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path / "served"), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *args: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def serve_toolchain(folder, files):
    archive = folder / f"{TOOLCHAIN}.zip"
    write_module_zip(archive, f"golang.org/toolchain@{TOOLCHAIN}/", files)
    return go_toolchain.module_hash(archive)


def test_a_pinned_toolchain_is_fetched_unpacked_and_runs(proxy, tmp_path) -> None:
    folder, url = proxy
    pinned = serve_toolchain(folder, {"bin/go": GO_SCRIPT, "pkg/tool/linux_amd64/compile": b"#!/bin/sh\n",
                                      "src/fmt/print.go": b"package fmt\n"})
    cache = tmp_path / "cache"
    go = go_toolchain.pinned_go("1.99.1", {"linux-amd64": pinned}, str(cache), {"GOPROXY": f"{url},direct"},
                                platform="linux-amd64")
    assert go == str(cache / "go1.99.1.linux-amd64" / "bin" / "go")
    assert subprocess.run([go], capture_output=True, text=True, check=True).stdout == "go1.99.1\n"
    assert os.access(cache / "go1.99.1.linux-amd64" / "pkg" / "tool" / "linux_amd64" / "compile", os.X_OK)
    assert not os.access(cache / "go1.99.1.linux-amd64" / "src" / "fmt" / "print.go", os.X_OK)
    assert sorted(os.listdir(cache)) == ["go1.99.1.linux-amd64"]
    # Found again without the proxy.
    assert go_toolchain.pinned_go("1.99.1", {}, str(cache), {"GOPROXY": "off"}, platform="linux-amd64") == go


def test_a_toolchain_with_another_hash_is_refused(proxy, tmp_path) -> None:
    folder, url = proxy
    serve_toolchain(folder, {"bin/go": b"#!/bin/sh\necho tampered\n"})
    cache = tmp_path / "cache"
    with pytest.raises(go_toolchain.ToolchainError) as raised:
        go_toolchain.pinned_go("1.99.1", {"linux-amd64": "h1:pinned="}, str(cache), {"GOPROXY": url},
                               platform="linux-amd64")
    served = f"{url}/golang.org/toolchain/@v/{TOOLCHAIN}.zip"
    assert str(raised.value).startswith(f"Go 1.99.1 from {served} has hash h1:")
    assert str(raised.value).endswith(", expected h1:pinned=: refusing it")
    assert os.listdir(cache) == []


def test_a_download_that_fails_or_is_no_zip_is_named(proxy, tmp_path) -> None:
    folder, url = proxy
    with pytest.raises(go_toolchain.ToolchainError, match=r"^could not fetch Go 1.99.1 from .*404"):
        go_toolchain.fetch("1.99.1", "h1:x=", "linux-amd64", str(tmp_path / "a" / "go"),
                           environ={"GOPROXY": url})
    (folder / f"{TOOLCHAIN}.zip").write_bytes(b"<html>a captive portal</html>")
    with pytest.raises(go_toolchain.ToolchainError, match=r"is not a zip file: refusing it$"):
        go_toolchain.fetch("1.99.1", "h1:x=", "linux-amd64", str(tmp_path / "a" / "go"),
                           environ={"GOPROXY": url})
    assert os.listdir(tmp_path / "a") == []


def test_a_platform_without_a_pin_is_named(tmp_path) -> None:
    with pytest.raises(go_toolchain.ToolchainError) as raised:
        go_toolchain.pinned_go("1.99.1", {"linux-amd64": "h1:a=", "darwin-arm64": "h1:b="}, str(tmp_path),
                               platform="freebsd-amd64")
    assert str(raised.value) == ("no go.sum hash is pinned for Go 1.99.1 on freebsd-amd64 "
                                 "(pinned for: darwin-arm64, linux-amd64)")
    with pytest.raises(go_toolchain.ToolchainError, match=r"\(pinned for: none\)$"):
        go_toolchain.pinned_go("1.99.1", {}, str(tmp_path), platform="linux-amd64")


def test_the_machines_go_is_used_only_when_it_is_exactly_the_release(go, tmp_path) -> None:
    version = ".".join(map(str, go_toolchain.version_of(go)))
    machines = go_toolchain.machine_go(version)
    if machines is not None:  # else the set-up fetched it: the next asserts still hold
        assert go_toolchain.pinned_go(version, {}, str(tmp_path)) == machines
    assert go_toolchain.machine_go("1.1.1") is None
    assert go_toolchain.version_of(str(tmp_path / "no-go")) is None


@pytest.mark.parametrize(("system", "machine", "platform"), [
    ("linux", "x86_64", "linux-amd64"), ("linux", "aarch64", "linux-arm64"),
    ("darwin", "arm64", "darwin-arm64"), ("darwin", "x86_64", "darwin-amd64")])
def test_the_controller_platform_in_gos_words(system, machine, platform) -> None:
    assert go_toolchain.this_platform(system, machine) == platform


def test_a_controller_without_a_toolchain_is_named() -> None:
    with pytest.raises(go_toolchain.ToolchainError,
                       match=r"^no Go toolchain is pinned for this controller \(win32, x86_64\)$"):
        go_toolchain.this_platform("win32", "x86_64")
    with pytest.raises(go_toolchain.ToolchainError, match=r"\(linux, riscv64\)$"):
        go_toolchain.this_platform("linux", "riscv64")


@pytest.mark.parametrize(("text", "version"), [
    ("go1.26.8", (1, 26, 8)), ("1.26.8\n", (1, 26, 8)), ("go1.26", (1, 26, 0)), ("devel go1.27", None),
    ("1.26.8-rc1", None), ("", None), (None, None)])
def test_go_releases_are_read(text, version) -> None:
    assert go_toolchain.parse_version(text) == version


@pytest.mark.parametrize(("goproxy", "url"), [
    (None, "https://proxy.golang.org"), ("", "https://proxy.golang.org"), ("off", "https://proxy.golang.org"),
    ("direct", "https://proxy.golang.org"), ("https://a.test/,https://b.test", "https://a.test"),
    ("file:///m|http://c.test", "http://c.test")])
def test_the_proxy_is_the_first_http_one(goproxy, url) -> None:
    assert go_toolchain.proxy_url({} if goproxy is None else {"GOPROXY": goproxy}) == url


def test_unpack_takes_only_the_toolchains_files_and_marks_its_commands(tmp_path) -> None:
    archive, prefix = tmp_path / "t.zip", "golang.org/toolchain@v0.0.1-go1.99.1.linux-amd64/"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(prefix + "bin/", b"")  # a folder entry first
        zipped.writestr(prefix + "bin/go", b"#!/bin/sh\n")
        zipped.writestr(prefix + "bin/gofmt", b"#!/bin/sh\n")
        zipped.writestr(prefix + "pkg/tool/linux_amd64/compile", b"#!/bin/sh\n")
        zipped.writestr(prefix + "src/fmt/print.go", b"package fmt\n")
        zipped.writestr("elsewhere/evil", b"not the toolchain's")
    go_toolchain.unpack(archive, prefix, str(tmp_path / "go"))
    found = sorted(str(p.relative_to(tmp_path / "go")) for p in (tmp_path / "go").rglob("*") if p.is_file())
    assert found == ["bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile", "src/fmt/print.go"]
    modes = {name: os.stat(tmp_path / "go" / name).st_mode & 0o777 for name in found}
    assert modes["bin/go"] == modes["bin/gofmt"] == modes["pkg/tool/linux_amd64/compile"] == 0o755
    assert not modes["src/fmt/print.go"] & 0o111


def test_unpack_of_a_toolchain_without_commands_marks_nothing(tmp_path) -> None:
    archive, prefix = tmp_path / "t.zip", "golang.org/toolchain@v/"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(prefix + "src/fmt/print.go", b"package fmt\n")
    go_toolchain.unpack(archive, prefix, str(tmp_path / "go"))
    assert (tmp_path / "go" / "src" / "fmt" / "print.go").read_bytes() == b"package fmt\n"


def test_the_proxy_comes_from_the_environment_by_default(monkeypatch) -> None:
    monkeypatch.setenv("GOPROXY", "https://goproxy.example/,direct")
    assert go_toolchain.proxy_url() == "https://goproxy.example"
