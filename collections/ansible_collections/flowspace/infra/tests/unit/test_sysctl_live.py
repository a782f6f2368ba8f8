"""Unit tests of the sysctl_live module against a sysctl tree made in a temporary folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

MODULE = Path(__file__).resolve().parents[2] / "plugins" / "modules" / "sysctl_live.py"
COLLECTIONS_ROOT = Path(__file__).resolve().parents[5]


def run_module(args: dict, check_mode: bool = False) -> dict:
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode}}
    env = {**os.environ, "PYTHONPATH": str(COLLECTIONS_ROOT)}
    result = subprocess.run(
        [sys.executable, str(MODULE)], input=json.dumps(payload), capture_output=True, text=True,
        env=env, check=False,
    )
    return json.loads(result.stdout)


def make_tree(root: Path, values: dict[str, str]) -> None:
    for key, value in values.items():
        path = root.joinpath(*key.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")


def test_writes_only_what_differs(tmp_path) -> None:
    make_tree(tmp_path, {"net.core.rmem_max": "212992", "kernel.sysrq": "0"})
    settings = {"net.core.rmem_max": 5000000, "kernel.sysrq": 0}
    result = run_module({"settings": settings, "proc_root": str(tmp_path)})
    assert result["changed"] is True
    assert result["changed_keys"] == ["net.core.rmem_max"]
    assert (tmp_path / "net" / "core" / "rmem_max").read_text().strip() == "5000000"
    assert "net.core.rmem_max = 212992" in result["diff"]["before"]


def test_second_run_changes_nothing(tmp_path) -> None:
    make_tree(tmp_path, {"net.ipv4.tcp_rmem": "4096\t131072\t6291456"})
    settings = {"net.ipv4.tcp_rmem": "4096 131072 6291456"}
    result = run_module({"settings": settings, "proc_root": str(tmp_path)})
    assert result["changed"] is False


def test_check_mode_predicts_without_writing(tmp_path) -> None:
    make_tree(tmp_path, {"fs.suid_dumpable": "2"})
    result = run_module({"settings": {"fs.suid_dumpable": 0}, "proc_root": str(tmp_path)}, check_mode=True)
    assert result["changed"] is True
    assert (tmp_path / "fs" / "suid_dumpable").read_text().strip() == "2"


def test_refused_keys_are_reported_not_failed(tmp_path) -> None:
    make_tree(tmp_path, {"net.core.wmem_max": "1"})
    (tmp_path / "kernel" / "odd_key").mkdir(parents=True)  # unreadable as a value: EISDIR
    result = run_module({
        "settings": {"kernel.no_such_key": 1, "kernel.odd_key": 1, "net.core.wmem_max": 5000000},
        "proc_root": str(tmp_path),
    })
    assert result.get("failed") is not True
    assert result["changed_keys"] == ["net.core.wmem_max"]
    assert result["skipped"]["kernel.no_such_key"] == "no such key on this kernel"
    assert "kernel.odd_key" in result["skipped"]
    assert any("left unchanged" in warning for warning in result.get("warnings", []))
