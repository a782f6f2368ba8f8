#!/usr/bin/python
"""Find (and remove) drop-in files that override the settings of a managed drop-in."""

DOCUMENTATION = r"""
module: config_overrides
short_description: Drop-ins that override a managed drop-in's settings, found and removed
description:
  - A hardened setting written to a drop-in is only what the service uses while no other
    drop-in overrides it. This module reads the drop-in directories the way the service does
    and returns each other file that sets one of the keys of O(managed) to another value, with
    precedence over it (a file that sets the same value changes nothing and is left).
  - O(precedence=last) is systemd's and most programs' rule (journald, sysctl.d, apt.conf.d);
    files are read in the order of their names across O(directories), a name in an earlier
    directory hides the same name in later ones, and the last value read wins.
  - O(precedence=first) is OpenSSH's rule; the first value read wins, so a file whose name
    sorts before O(managed) overrides it.
  - With O(state=absent) the overriding files are removed (the managed file then holds), with
    a diff of what each held; with O(state=present) they are only reported.
version_added: 0.3.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.check_and_diff]
options:
  managed:
    description: The drop-in whose settings must hold (its keys are read from it).
    type: path
    required: true
  directories:
    description:
      - The drop-in directories, in the service's priority order (C(/etc) before C(/run) before
        C(/usr/lib)).
    type: list
    elements: path
    required: true
  suffix:
    description:
      - The file name endings the service reads; an empty one stands for a name without any
        C(.) (apt reads those and C(.conf) files, and skips C(.dpkg-old) and the like).
    type: list
    elements: str
    default: [.conf]
  precedence:
    description: Whether the C(last) or the C(first) value read wins.
    type: str
    choices: [last, first]
    default: last
  ignore_case:
    description: Whether keys are case-insensitive (OpenSSH's are).
    type: bool
    default: false
  sections:
    description:
      - Whether a key belongs to its C([section]) (fail2ban's jails); a file then overrides a
        managed key only when it sets it in the same section.
    type: bool
    default: false
  managed_order:
    description:
      - Where the service reads O(managed) among the files of O(directories). C(by_name) is
        the drop-in rule (it is one of them); C(before) means the service reads it before
        every file there (fail2ban reads C(jail.local), then each C(jail.d/*.local)).
    type: str
    choices: [by_name, before]
    default: by_name
  state:
    description: C(absent) removes the overriding files; C(present) reports them.
    type: str
    choices: [present, absent]
    default: absent
"""

EXAMPLES = r"""
- name: Remove journald drop-ins that override the hardened ones
  flowspace.infra.config_overrides:
    managed: /etc/systemd/journald.conf.d/50-base-hardening.conf
    directories:
      - /etc/systemd/journald.conf.d
      - /run/systemd/journald.conf.d
      - /usr/lib/systemd/journald.conf.d
"""

RETURN = r"""
overrides:
  description: Each overriding file and the managed keys it sets.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/systemd/journald.conf.d/zz-quiet.conf", "keys": ["Storage"]}]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

# A name (apt's have :: inside), then =, a single :, or blanks, then the value.
SETTING = re.compile(r"^\s*([A-Za-z0-9_./-]+(?:::[A-Za-z0-9_./-]+)*)\s*(?:=|:|\s)\s*(.*?)\s*;?\s*$")


def settings_of(text, ignore_case=False, sections=False):
    """The settings a drop-in sets, name -> value (the last one read; comments and blank lines
    aside). With IGNORE_CASE, names and values are compared in lower case; with SECTIONS, a
    name is `section/name`."""
    found = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if not stripped or stripped.startswith(("#", ";", "[", "//")):
            continue
        match = SETTING.match(line)
        if match:
            key, value = match.group(1), " ".join(match.group(2).split())
            if sections:
                key = f"{section}/{key}"
            found[key.lower() if ignore_case else key] = value.lower() if ignore_case else value
    return found


def keys_of(text, ignore_case=False, sections=False):
    return list(settings_of(text, ignore_case, sections))


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def effective_files(directories, suffix):
    """The files the service reads, in reading order: by name, the first directory's copy."""
    chosen = {}
    for directory in directories:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            readable = any(name.endswith(end) if end else "." not in name for end in suffix)
            if readable and name not in chosen and os.path.isfile(path):
                chosen[name] = path
    return [chosen[name] for name in sorted(chosen)]


def overrides(params):
    managed = params["managed"]
    ignore_case = params["ignore_case"]
    sections = params.get("sections", False)
    wanted = settings_of(read(managed), ignore_case, sections)
    files = effective_files(params["directories"], params["suffix"])
    name = os.path.basename(managed)
    found = []
    for path in files:
        if os.path.realpath(path) == os.path.realpath(managed):
            continue
        before = params.get("managed_order") != "before" and os.path.basename(path) < name
        if (params["precedence"] == "last") == before:
            continue  # read before (last wins) or after (first wins) the managed file: no override
        # A file that sets a key to the managed value changes nothing the service uses.
        theirs = settings_of(read(path), ignore_case, sections)
        keys = sorted(key for key in wanted.keys() & theirs.keys() if theirs[key] != wanted[key])
        if keys:
            found.append({"path": path, "keys": keys})
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "managed": {"type": "path", "required": True},
            "directories": {"type": "list", "elements": "path", "required": True},
            "suffix": {"type": "list", "elements": "str", "default": [".conf"]},
            "precedence": {"type": "str", "choices": ["last", "first"], "default": "last"},
            "ignore_case": {"type": "bool", "default": False},
            "sections": {"type": "bool", "default": False},
            "managed_order": {"type": "str", "choices": ["by_name", "before"], "default": "by_name"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "absent"},
        },
        supports_check_mode=True,
    )
    found = overrides(module.params)
    for item in found:
        module.warn(f"{item['path']} overrides {', '.join(item['keys'])} of {module.params['managed']}"
                    + (" (removed)" if module.params["state"] == "absent" and not module.check_mode else ""))
    changed = bool(found) and module.params["state"] == "absent"
    diff = [{"before_header": item["path"], "before": read(item["path"]), "after_header": item["path"],
             "after": ""} for item in found] if changed else []
    if changed and not module.check_mode:
        for item in found:
            try:
                os.remove(item["path"])
            except OSError as error:
                module.fail_json(msg=f"cannot remove {item['path']}: {error.strerror}", overrides=found)
    module.exit_json(changed=changed, overrides=found, diff=diff)


if __name__ == "__main__":
    main()
