"""The stack's service sandbox: the systemd directives its own services' units share."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.systemd import systemd_sandbox


def directives(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_the_sandbox_takes_every_privilege_away_and_opens_only_the_families_given() -> None:
    found = directives(systemd_sandbox(["AF_INET", "AF_UNIX"]))
    assert found["NoNewPrivileges"] == "true" and found["ProtectSystem"] == "strict"
    assert found["CapabilityBoundingSet"] == "" and found["SystemCallFilter"] == "@system-service"
    assert found["RestrictAddressFamilies"] == "AF_INET AF_UNIX"
    assert found["UMask"] == "0077" and found["SystemCallErrorNumber"] == "EPERM"
    assert "MemoryDenyWriteExecute" not in found, "a JIT (Node.js) needs writable executable memory"


def test_write_execute_off_denies_it() -> None:
    assert directives(systemd_sandbox(["AF_INET"], write_execute=False))["MemoryDenyWriteExecute"] == "true"


def test_each_directive_once_one_per_line() -> None:
    every_family = ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]
    lines = systemd_sandbox(every_family, write_execute=False).splitlines()
    names = [line.split("=", 1)[0] for line in lines]
    assert len(names) == len(set(names)) and all("=" in line for line in lines)


@pytest.mark.parametrize("families", [[], "AF_INET", ["AF_PACKET"], ["af_inet"], None])
def test_bad_families_are_refused_naming_them(families) -> None:
    with pytest.raises(AnsibleFilterError, match="systemd_sandbox"):
        systemd_sandbox(families)
