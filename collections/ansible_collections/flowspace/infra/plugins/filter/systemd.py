"""The sandbox the stack's own services run in, written once: the systemd directives
shared by the socket server's and LiveKit's units."""

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: systemd_sandbox
short_description: The systemd sandbox directives of a service of the stack
description:
  - Returns the C([Service]) lines that confine a network service which needs no privilege,
    no capability and no file outside its own C(ReadWritePaths) (the sandbox of the socket
    server's and LiveKit's units), one directive per line.
  - The input is the address families the service may open (C(AF_INET), C(AF_INET6),
    C(AF_UNIX), C(AF_NETLINK)); C(write_execute=false) adds C(MemoryDenyWriteExecute=true),
    which a JIT (Node.js) cannot run under.
positional: _input
options:
  _input:
    description: The address families the service may use.
    type: list
    elements: str
    required: true
  write_execute:
    description: Whether the service may map memory both writable and executable.
    type: bool
    default: true
"""

ADDRESS_FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK")

CONFINED = """NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true"""

# A call outside @system-service fails with EPERM instead of killing the process (libuv, for
# one, then falls back, e.g. from io_uring).
SYSTEM_CALLS = """CapabilityBoundingSet=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0077"""


def systemd_sandbox(address_families, write_execute=True):
    if not isinstance(address_families, list) or not address_families:
        raise AnsibleFilterError(
            f"systemd_sandbox: a list of address families is needed, got {address_families!r}")
    unknown = [family for family in address_families if family not in ADDRESS_FAMILIES]
    if unknown:
        raise AnsibleFilterError(
            f"systemd_sandbox: unknown address families {unknown}; known: {', '.join(ADDRESS_FAMILIES)}")
    lines = [CONFINED]
    if not write_execute:
        lines.append("MemoryDenyWriteExecute=true")
    lines.append("RestrictAddressFamilies=" + " ".join(address_families))
    lines.append(SYSTEM_CALLS)
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        return {"systemd_sandbox": systemd_sandbox}
