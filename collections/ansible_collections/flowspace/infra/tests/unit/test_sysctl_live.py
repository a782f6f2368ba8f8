"""The sysctl_live module's main() against a sysctl tree made in a temporary folder."""

from pathlib import Path

import pytest

from ansible_collections.flowspace.infra.plugins.modules import sysctl_live


@pytest.fixture
def run_module(run_module):
    def run(args: dict, check_mode: bool = False) -> dict:
        return run_module(sysctl_live, args, check_mode=check_mode)

    return run


def make_tree(root: Path, values: dict[str, str]) -> None:
    for key, value in values.items():
        path = root.joinpath(*key.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")


def test_writes_only_what_differs(tmp_path, run_module) -> None:
    make_tree(tmp_path, {"net.core.rmem_max": "212992", "kernel.sysrq": "0", "vm.swappiness": "60"})
    settings = {"net.core.rmem_max": 5000000, "kernel.sysrq": 0, "vm.swappiness": "10"}
    result = run_module({"settings": settings, "proc_root": str(tmp_path)})
    assert (result["exit_code"], result["changed"], result["skipped"]) == (0, True, {})
    assert result["changed_keys"] == ["net.core.rmem_max", "vm.swappiness"]
    assert (tmp_path / "net" / "core" / "rmem_max").read_text() == "5000000\n"
    assert result["diff"] == {"before": "net.core.rmem_max = 212992\nvm.swappiness = 60\n",
                              "after": "net.core.rmem_max = 5000000\nvm.swappiness = 10\n"}
    assert "warnings" not in result


def test_second_run_changes_nothing(tmp_path, run_module) -> None:
    make_tree(tmp_path, {"net.ipv4.tcp_rmem": "4096\t131072\t6291456"})
    settings = {"net.ipv4.tcp_rmem": "4096 131072 6291456"}
    result = run_module({"settings": settings, "proc_root": str(tmp_path)})
    assert (result["changed"], result["changed_keys"]) == (False, [])
    assert result["diff"] == {"before": "", "after": ""}


def test_check_mode_predicts_without_writing(tmp_path, run_module) -> None:
    make_tree(tmp_path, {"fs.suid_dumpable": "2"})
    result = run_module({"settings": {"fs.suid_dumpable": 0}, "proc_root": str(tmp_path)}, check_mode=True)
    assert result["changed"] is True and result["changed_keys"] == ["fs.suid_dumpable"]
    assert (tmp_path / "fs" / "suid_dumpable").read_text().strip() == "2"


def test_refused_keys_are_reported_not_failed(tmp_path, run_module) -> None:
    make_tree(tmp_path, {"net.core.wmem_max": "1"})
    (tmp_path / "kernel" / "odd_key").mkdir(parents=True)  # unreadable as a value: EISDIR
    result = run_module({
        "settings": {"kernel.no_such_key": 1, "kernel.odd_key": 1, "net.core.wmem_max": 5000000},
        "proc_root": str(tmp_path),
    })
    assert result.get("failed") is not True
    assert result["changed_keys"] == ["net.core.wmem_max"]
    assert result["skipped"]["kernel.no_such_key"] == "no such key on this kernel"
    assert result["skipped"]["kernel.odd_key"] == "Is a directory"
    assert result["warnings"] == [
        "2 sysctl key(s) left unchanged because this host refuses them: kernel.no_such_key "
        "(no such key on this kernel), kernel.odd_key (Is a directory)"]


def test_a_key_on_a_read_only_mount_is_skipped(tmp_path, run_module, monkeypatch) -> None:
    make_tree(tmp_path, {"kernel.kptr_restrict": "0", "kernel.sysrq": "1"})
    assert sysctl_live._read_only_mount(str(tmp_path / "kernel" / "sysrq")) is False
    # A container's /proc/sys is such a mount; this folder is not, so the mount's answer is given.
    monkeypatch.setattr(sysctl_live, "_read_only_mount", lambda path: path.endswith("kptr_restrict"))
    settings = {"kernel.kptr_restrict": 2, "kernel.sysrq": 0}
    result = run_module({"settings": settings, "proc_root": str(tmp_path)})
    assert result["skipped"] == {"kernel.kptr_restrict": "read-only file system"}
    assert result["changed_keys"] == ["kernel.sysrq"]
    assert (tmp_path / "kernel" / "kptr_restrict").read_text() == "0\n"


def test_a_value_the_kernel_rejects_on_write_is_skipped_and_the_next_key_still_written(
        tmp_path, run_module, monkeypatch) -> None:
    make_tree(tmp_path, {"kernel.a_key": "0", "kernel.b_key": "0", "kernel.c_key": "0"})
    write_value = sysctl_live.write_value

    def kernel_refuses(path, value):
        if path.endswith("a_key"):
            raise OSError(22, "Invalid argument")
        if path.endswith("b_key"):
            raise OSError(5, "Input/output error")
        return write_value(path, value)

    monkeypatch.setattr(sysctl_live, "write_value", kernel_refuses)
    result = run_module({"settings": {"kernel.a_key": 1, "kernel.b_key": 1, "kernel.c_key": "1   2"},
                         "proc_root": str(tmp_path)})
    assert result["skipped"] == {"kernel.a_key": "value rejected by the kernel",
                                 "kernel.b_key": "Input/output error"}
    assert result["changed_keys"] == ["kernel.c_key"]
    assert (tmp_path / "kernel" / "c_key").read_text() == "1 2\n"
