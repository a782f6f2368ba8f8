"""go_build: a recipe built with exactly the pinned Go, kept when its sha256 is the pinned one,
rebuilt when the file is anything else, refused (and removed) when the build is not what was
pinned; bad input named before anything is built. Real go builds of a tiny program."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.flowspace.infra.plugins.module_utils import go_build as rule
from ansible_collections.flowspace.infra.plugins.module_utils import go_toolchain
from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir
from ansible_collections.flowspace.infra.plugins.modules import go_build

REPOSITORY = next(p for p in Path(__file__).resolve().parents if (p / "roles" / "caddy").is_dir())
CADDY_DEFAULTS = yaml.safe_load((REPOSITORY / "roles" / "caddy" / "defaults" / "main.yml").read_text())
GO_VERSION = CADDY_DEFAULTS["caddy_build_go_version"]
HASHES = CADDY_DEFAULTS["caddy_build_go_toolchain_hashes"]
GO_CACHE = os.path.join(flowspace_cache_dir(), "go")
HELLO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from the recipe") }\n'


@pytest.fixture(scope="module")
def go():
    """The project's pinned Go (the set-up fetched it when the machine has none)."""
    return go_toolchain.pinned_go(GO_VERSION, HASHES, GO_CACHE)


@pytest.fixture
def recipe(tmp_path):
    folder = tmp_path / "recipe"
    folder.mkdir()
    (folder / "go.mod").write_text("module example.test/hello\n\ngo 1.26\n")
    (folder / "go.sum").write_text("")
    (folder / "main.go").write_text(HELLO)
    return folder


@pytest.fixture(scope="module")
def hello_sha256(go, tmp_path_factory):
    """What the recipe builds to (reproducible: any folder, any build gives these bytes)."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "go.mod").write_text("module example.test/hello\n\ngo 1.26\n")
    (folder / "main.go").write_text(HELLO)
    rule.build(go, str(folder), "linux", "amd64", str(folder / "out"))
    return rule.file_sha256(folder / "out")


def args(recipe, dest, sha256, **extra):
    return {"recipe": str(recipe), "goarch": "amd64", "dest": str(dest), "sha256": sha256,
            "go_version": GO_VERSION, "go_toolchain_hashes": HASHES, "go_cache_dir": GO_CACHE, **extra}


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_build_is_made_then_kept(run_module, recipe, hello_sha256, tmp_path) -> None:
    dest = tmp_path / "bin" / "hello-linux-amd64"
    first = run_module(go_build, args(recipe, dest, hello_sha256))
    assert {key: first[key] for key in ("changed", "built", "dest", "sha256", "exit_code")} == {
        "changed": True, "built": True, "dest": str(dest), "sha256": hello_sha256, "exit_code": 0}
    assert rule.file_sha256(dest) == hello_sha256
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert dest.read_bytes()[:4] == b"\x7fELF"
    assert leftovers(dest.parent) == []
    again = run_module(go_build, args(recipe, dest, hello_sha256))
    assert (again["changed"], again["built"], again["exit_code"]) == (False, False, 0)


def test_the_build_runs_and_says_hello(recipe, go, tmp_path) -> None:
    out = tmp_path / "hello"
    rule.build(go, str(recipe), "linux", "amd64", str(out))
    if os.uname().machine == "x86_64":
        ran = subprocess.run([str(out)], capture_output=True, text=True, check=True)
        assert ran.stdout == "hello from the recipe\n"


def test_any_other_file_there_is_rebuilt(run_module, recipe, hello_sha256, tmp_path) -> None:
    dest = tmp_path / "hello"
    dest.write_bytes(b"an older build")
    result = run_module(go_build, args(recipe, dest, hello_sha256))
    assert (result["changed"], result["built"]) == (True, True)
    assert rule.file_sha256(dest) == hello_sha256


def test_check_mode_says_a_build_is_needed_and_builds_nothing(
        run_module, recipe, hello_sha256, tmp_path) -> None:
    dest = tmp_path / "hello"
    result = run_module(go_build, args(recipe, dest, hello_sha256), check_mode=True)
    assert (result["changed"], result["built"], result["exit_code"]) == (True, False, 0)
    assert not dest.exists()
    dest.write_bytes(b"stale")
    assert run_module(go_build, args(recipe, dest, hello_sha256), check_mode=True)["changed"] is True
    assert dest.read_bytes() == b"stale"


def test_a_build_that_is_not_the_pinned_one_is_refused_and_removed(
        run_module, recipe, hello_sha256, tmp_path) -> None:
    dest = tmp_path / "hello"
    dest.write_bytes(b"what was there")
    pinned = "0" * 64
    result = run_module(go_build, args(recipe, dest, pinned))
    assert result["exit_code"] == 1 and result["built"] is False and result["sha256"] == pinned
    assert result["msg"] == (
        f"the binary built from {recipe} for linux/amd64 has sha256 {hello_sha256}, but {pinned} is pinned: "
        "refusing it. If the recipe (go.mod, go.sum, main.go) or the Go release changed on purpose, pin the "
        "new sha256; otherwise the build is not the one that was reviewed.. "
        f"{dest} was left as it was.")
    assert dest.read_bytes() == b"what was there"
    assert leftovers(tmp_path) == []


def test_a_recipe_that_does_not_compile_is_named_with_gos_words(run_module, recipe, tmp_path) -> None:
    (recipe / "main.go").write_text("package main\n\nfunc main() { undefined_call() }\n")
    result = run_module(go_build, args(recipe, tmp_path / "hello", "0" * 64))
    assert result["exit_code"] == 1
    assert result["msg"].startswith(f"go build in {recipe} for linux/amd64 failed (exit 1):\n")
    assert "undefined: undefined_call" in result["msg"]
    assert not (tmp_path / "hello").exists() and leftovers(tmp_path) == []


def test_bad_input_is_named_before_anything_is_built(run_module, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_module(go_build, args(empty, tmp_path / "out", "ABC", go_version="latest",
                                       go_toolchain_hashes={"linux-amd64": "sha256:abc", "linux-arm64": 7}))
    assert result["exit_code"] == 1
    assert result["msg"] == (
        "sha256 must be 64 lowercase hex digits, not 'ABC'; go_version must be a Go release such as 1.26.8, "
        "not 'latest'; go_toolchain_hashes.linux-amd64 must be a go.sum hash (h1:...), not 'sha256:abc'; "
        "go_toolchain_hashes.linux-arm64 must be a go.sum hash (h1:...), not 7; "
        f"recipe {empty} has no go.mod and no go.sum. Nothing was built.")
    assert not (tmp_path / "out").exists()


def test_a_recipe_without_go_sum_alone_is_named(run_module, recipe, tmp_path) -> None:
    (recipe / "go.sum").unlink()
    result = run_module(go_build, args(recipe, tmp_path / "out", "a" * 64))
    assert result["msg"] == f"recipe {recipe} has no go.sum. Nothing was built."


def test_the_build_sets_everything_that_changes_its_bytes() -> None:
    caller = {"GOBIN": "/somewhere", "GOFLAGS": "-mod=mod", "GOAMD64": "v3", "GOARM64": "v9.0",
              "CGO_ENABLED": "1",
              "GOTOOLCHAIN": "auto", "GOWORK": "/w/go.work", "GOOS": "windows", "HOME": "/home/me"}
    env = rule.build_environment("linux", "arm64", caller)
    assert env == {"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local",
                   "GOFLAGS": "-mod=readonly", "GOWORK": "off", "GOAMD64": "v1", "GOARM64": "v8.0",
                   "HOME": "/home/me"}
    assert caller["GOBIN"] == "/somewhere", "the caller's environment is left alone"


def test_a_go_that_cannot_start_or_runs_too_long_is_named(recipe, tmp_path) -> None:
    with pytest.raises(rule.BuildError, match=r"^go build in .* could not start: "):
        rule.build(str(tmp_path / "no-go"), str(recipe), "linux", "amd64", str(tmp_path / "out"))
    slow = tmp_path / "slow-go"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(rule.BuildError) as raised:
        rule.build(str(slow), str(recipe), "linux", "arm64", str(tmp_path / "out"), timeout=0.2)
    assert str(raised.value) == f"go build in {recipe} for linux/arm64 took over 0.2 s"


def test_only_the_last_lines_of_a_failure_are_kept(recipe, tmp_path) -> None:
    noisy = tmp_path / "noisy-go"
    noisy.write_text("#!/bin/sh\nfor i in $(seq 1 50); do echo line $i; done\necho last >&2\nexit 3\n")
    noisy.chmod(0o755)
    with pytest.raises(rule.BuildError) as raised:
        rule.build(str(noisy), str(recipe), "linux", "amd64", str(tmp_path / "out"))
    lines = str(raised.value).splitlines()
    assert lines[0] == f"go build in {recipe} for linux/amd64 failed (exit 3):"
    assert lines[1:] == [f"line {i}" for i in range(32, 51)] + ["last"]


def fake_go(folder, script):
    """A `go` that writes what SCRIPT prints into the -o file (the 5th argument)."""
    go = folder / "fake-go"
    go.write_text(f"#!/bin/sh\n{script} > \"$5\"\n")
    go.chmod(0o755)
    return str(go)


def test_build_pinned_says_whether_it_built_and_uses_the_callers_environment(tmp_path, recipe) -> None:
    go = fake_go(tmp_path, 'echo "built with $MARKER"')
    pinned = rule.hashlib.sha256(b"built with from-the-caller\n").hexdigest()
    asked = []

    def find_go():
        asked.append(True)
        return go

    dest = tmp_path / "out" / "tool"
    environ = {"PATH": os.environ["PATH"], "MARKER": "from-the-caller"}
    built = rule.build_pinned(find_go, str(recipe), "amd64", dest=str(dest), sha256=pinned, environ=environ)
    assert built is True
    assert dest.read_bytes() == b"built with from-the-caller\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    again = rule.build_pinned(find_go, str(recipe), "amd64", dest=str(dest), sha256=pinned, environ=environ)
    assert again is False
    assert len(asked) == 1, "a kept build does not even look for go"


def test_build_pinned_passes_its_timeout_on(tmp_path, recipe) -> None:
    go = fake_go(tmp_path, "sleep 5; echo late")
    with pytest.raises(rule.BuildError, match=r"took over 0.2 s$"):
        rule.build_pinned(lambda: go, str(recipe), "arm64", dest=str(tmp_path / "tool"), sha256="0" * 64,
                          timeout=0.2)
    assert sorted(os.listdir(tmp_path)) == ["fake-go", "recipe"]


def test_a_dest_without_a_folder_is_built_where_the_caller_is(tmp_path, recipe, monkeypatch) -> None:
    go = fake_go(tmp_path, "echo here")
    monkeypatch.chdir(tmp_path)
    pinned = rule.hashlib.sha256(b"here\n").hexdigest()
    assert rule.build_pinned(lambda: go, str(recipe), "amd64", dest="tool", sha256=pinned) is True
    assert sorted(os.listdir(tmp_path)) == ["fake-go", "recipe", "tool"]
