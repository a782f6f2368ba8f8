#!/usr/bin/python
"""Apply many sysctl keys to the running kernel in one call."""

DOCUMENTATION = r"""
module: sysctl_live
short_description: Set sysctl keys on the running kernel, reporting those the host refuses
description:
  - Compares each key's live value under O(proc_root) with the wanted one and writes the keys
    that differ, all in one module call.
  - A key the host does not let the module set (for example a container's read-only
    C(/proc/sys), or a key this kernel does not have) is not a failure; it is returned in
    RV(skipped) with the reason and reported as a warning, so nothing is skipped silently.
  - Persisting the keys (a file in C(/etc/sysctl.d)) is the caller's job.
version_added: 0.1.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.check_and_diff]
options:
  settings:
    description: Keys in dotted form (C(net.core.rmem_max)) and their wanted values.
    type: dict
    required: true
  proc_root:
    description: Where the kernel's sysctl tree is mounted.
    type: path
    default: /proc/sys
"""

EXAMPLES = r"""
- name: Apply hardening keys
  flowspace.infra.sysctl_live:
    settings:
      net.ipv4.tcp_syncookies: 1
      net.core.rmem_max: 5000000
"""

RETURN = r"""
changed_keys:
  description: Keys whose live value was (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
skipped:
  description: Keys the host would not let the module read or write, with the reason.
  returned: always
  type: dict
  sample: {"kernel.kptr_restrict": "read-only file system"}
"""

import errno
import os

from ansible.module_utils.basic import AnsibleModule

REFUSALS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such key on this kernel",
    errno.EINVAL: "value rejected by the kernel",
}


def normalize(value):
    """sysctl values compare by their whitespace-separated fields ("4096\t87380" == "4096 87380")."""
    return " ".join(str(value).split())


def key_path(proc_root, key):
    return os.path.join(proc_root, *key.split("."))


def read_value(path):
    with open(path) as handle:
        return normalize(handle.read())


def write_value(path, value):
    with open(path, "w") as handle:
        handle.write(value + "\n")


def main():
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "required": True},
            "proc_root": {"type": "path", "default": "/proc/sys"},
        },
        supports_check_mode=True,
    )
    settings = {key: normalize(value) for key, value in module.params["settings"].items()}
    proc_root = module.params["proc_root"]
    changed_keys, skipped, before, after = [], {}, {}, {}

    for key in sorted(settings):
        wanted = settings[key]
        path = key_path(proc_root, key)
        try:
            current = read_value(path)
        except OSError as err:
            skipped[key] = REFUSALS.get(err.errno, err.strerror)
            continue
        if current == wanted:
            continue
        if not os.access(path, os.W_OK) or _read_only_mount(path):
            skipped[key] = "read-only file system"
            continue
        if not module.check_mode:
            try:
                write_value(path, wanted)
            except OSError as err:
                skipped[key] = REFUSALS.get(err.errno, err.strerror)
                continue
        changed_keys.append(key)
        before[key], after[key] = current, wanted

    if skipped:
        module.warn(
            f"{len(skipped)} sysctl key(s) left unchanged because this host refuses them: "
            + ", ".join(f"{key} ({reason})" for key, reason in skipped.items())
        )
    module.exit_json(
        changed=bool(changed_keys),
        changed_keys=changed_keys,
        skipped=skipped,
        diff={
            "before": "".join(f"{k} = {v}\n" for k, v in before.items()),
            "after": "".join(f"{k} = {v}\n" for k, v in after.items()),
        },
    )


def _read_only_mount(path):
    """A read-only /proc/sys bind mount lets open() for writing fail late; ask the mount instead."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


if __name__ == "__main__":
    main()
