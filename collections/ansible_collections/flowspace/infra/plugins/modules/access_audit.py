#!/usr/bin/python
"""Find privileged access on a host that its inventory does not declare."""

DOCUMENTATION = r"""
module: access_audit
short_description: Find sudo rules, UID 0 accounts, password logins and listening ports nobody declared
description:
  - Reads the host's own files, as sudo, login and the kernel read them, and returns each
    privilege the inventory does not declare, with where it comes from.
  - B(sudo.) Every user specification in C(/etc/sudoers) and the files sudo reads from
    C(/etc/sudoers.d) (not names containing C(.) or ending in C(~), which sudo skips) whose
    principal (user, C(%group) or alias) is not in O(sudo_principals).
  - B(UID 0.) Every account with UID 0 other than C(root) and O(uid0_accounts).
  - B(Password logins.) Every account whose C(/etc/shadow) entry holds a usable password hash,
    or no password at all (an empty field lets anyone in where PAM allows it), other than
    O(password_accounts).
  - B(Listening ports.) Every TCP port in LISTEN and UDP port bound on an address that is not
    loopback (from C(/proc/net)) that O(ports) does not cover.
  - Each finding is also a warning, so a run shows it; nothing is changed.
version_added: 0.3.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.read_only]
options:
  sudo_principals:
    description: The sudoers principals the inventory declares (C(root), C(%sudo), the admin user...).
    type: list
    elements: str
    default: [root]
  uid0_accounts:
    description: Accounts besides C(root) allowed to have UID 0.
    type: list
    elements: str
    default: []
  password_accounts:
    description: Accounts allowed to log in with a password.
    type: list
    elements: str
    default: []
  ports:
    description: The ports allowed to listen beyond loopback (C(port), optional C(port_end), C(protocol)).
    type: list
    elements: dict
    default: []
  root:
    description: Where the host's file system is (tests read a copy).
    type: path
    default: /
"""

EXAMPLES = r"""
- name: Find privileged access nobody declared
  flowspace.infra.access_audit:
    sudo_principals: [root, "%sudo", ubuntu]
    ports:
      - {port: 22, protocol: tcp}
      - {port: 443, protocol: tcp}
  register: access
"""

RETURN = r"""
findings:
  description: What is not declared, each with its kind (sudo, uid0, password, port), what and where.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "sudo", "what": "intruder ALL=(ALL) NOPASSWD: ALL", "where": "/etc/sudoers.d/zz-extra"}]
sudoers_files:
  description: The files under /etc/sudoers.d holding undeclared rules.
  returned: always
  type: list
  elements: str
password_accounts:
  description: The accounts with an undeclared password login.
  returned: always
  type: list
  elements: str
"""

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

# The sudoers lines that are not user specifications.
NOT_A_RULE = re.compile(
    r"^(Defaults|User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|[@#]include|[@#]includedir)\b")
LISTEN = "0A"
TCP_CLOSE = "07"


def path_in(root, path):
    return os.path.join(root, path.lstrip("/"))


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def logical_lines(lines):
    """sudoers lines with backslash continuations joined and comments dropped."""
    joined, pending = [], ""
    for raw in lines:
        # A continued line's indentation is layout: the finding reads as one line.
        part = raw.lstrip() if pending else raw
        if part.rstrip().endswith("\\"):
            pending += part.rstrip()[:-1].rstrip() + " "
            continue
        line, pending = pending + part, ""
        if not line.lstrip().startswith(("#include", "#includedir", "@include")):
            line = line.split("#", 1)[0]
        if line.strip():
            joined.append(line.strip())
    return joined


def principals(rule):
    """The users, %groups and aliases a user specification grants to ("alice, %ops ALL=...")."""
    match = re.match(r"^(?P<users>[^=]+?)\s+[^\s=,]+\s*=", rule)
    users = match.group("users") if match else rule.split(None, 1)[0]
    return [user.strip() for user in users.split(",") if user.strip()]


def sudoers_files(root):
    """/etc/sudoers, then the files sudo reads from /etc/sudoers.d (in its order)."""
    files = [path_in(root, "/etc/sudoers")]
    directory = path_in(root, "/etc/sudoers.d")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        names = []
    files += [os.path.join(directory, name) for name in names
              if "." not in name and not name.endswith("~") and os.path.isfile(os.path.join(directory, name))]
    return files


def sudo_findings(root, allowed):
    findings = []
    for path in sudoers_files(root):
        for line in logical_lines(read_lines(path)):
            if NOT_A_RULE.match(line):
                continue
            if any(principal not in allowed for principal in principals(line)):
                findings.append({"kind": "sudo", "what": line, "where": "/" + os.path.relpath(path, root)})
    return findings


def uid0_findings(root, allowed):
    findings = []
    for line in read_lines(path_in(root, "/etc/passwd")):
        fields = line.split(":")
        if len(fields) >= 4 and fields[2] == "0" and fields[0] != "root" and fields[0] not in allowed:
            findings.append({"kind": "uid0", "what": f"{fields[0]} has UID 0", "where": "/etc/passwd"})
    return findings


def password_findings(root, allowed):
    findings = []
    for line in read_lines(path_in(root, "/etc/shadow")):
        fields = line.split(":")
        if len(fields) < 2 or fields[0] in allowed:
            continue
        secret = fields[1]
        if secret == "":
            findings.append({"kind": "password", "what": f"{fields[0]} has no password at all",
                             "where": "/etc/shadow", "account": fields[0]})
        elif not secret.startswith(("!", "*")):
            findings.append({"kind": "password", "what": f"{fields[0]} can log in with a password",
                             "where": "/etc/shadow", "account": fields[0]})
    return findings


def decode_address(hex_address):
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # /proc/net/*6 prints the address as four host-order 32-bit words.
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
    address = ipaddress.IPv6Address(b"".join(words))
    return address.ipv4_mapped or address


def listening(root):
    """(protocol, address, port) of each socket listening beyond loopback."""
    found = set()
    for name, protocol in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
        for line in read_lines(path_in(root, f"/proc/net/{name}"))[1:]:
            fields = line.split()
            if len(fields) < 4:
                continue
            local, remote, state = fields[1], fields[2], fields[3]
            if protocol == "tcp" and state != LISTEN:
                continue
            if protocol == "udp" and (state != TCP_CLOSE or not set(remote.split(":")[0]) <= {"0"}):
                continue  # a connected UDP socket is a client's, not a listener
            address, port = local.split(":")
            decoded = decode_address(address)
            if decoded.is_loopback:
                continue
            found.add((protocol, str(decoded), int(port, 16)))
    return sorted(found)


def covered(protocol, port, allowed):
    return any(entry.get("protocol", "tcp") == protocol
               and int(entry["port"]) <= port <= int(entry.get("port_end") or entry["port"])
               for entry in allowed)


def port_findings(root, allowed):
    return [{"kind": "port", "what": f"{protocol}/{port} listens on {address}", "where": "/proc/net"}
            for protocol, address, port in listening(root) if not covered(protocol, port, allowed)]


def audit(params):
    root = params["root"]
    return (sudo_findings(root, set(params["sudo_principals"]) | {"root"})
            + uid0_findings(root, set(params["uid0_accounts"]))
            + password_findings(root, set(params["password_accounts"]))
            + port_findings(root, params["ports"]))


def main():
    module = AnsibleModule(
        argument_spec={
            "sudo_principals": {"type": "list", "elements": "str", "default": ["root"]},
            "uid0_accounts": {"type": "list", "elements": "str", "default": []},
            "password_accounts": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "ports": {"type": "list", "elements": "dict", "default": []},
            "root": {"type": "path", "default": "/"},
        },
        supports_check_mode=True,
    )
    findings = audit(module.params)
    for finding in findings:
        module.warn(f"not declared: {finding['what']} ({finding['where']})")
    module.exit_json(
        changed=False,
        findings=[{k: v for k, v in f.items() if k != "account"} for f in findings],
        sudoers_files=sorted({f["where"] for f in findings
                              if f["kind"] == "sudo" and f["where"].startswith("/etc/sudoers.d/")}),
        password_accounts=sorted({f["account"] for f in findings if f["kind"] == "password"}),
    )


if __name__ == "__main__":
    main()
