#!/usr/bin/python
"""What dpkg knows of some packages, so that a role asks apt only when something is missing."""

DOCUMENTATION = r"""
module: dpkg_query
short_description: Read what dpkg has of some packages, and what apt would have to do for them
description:
  - Runs one C(dpkg-query -W) for O(names) and returns each package dpkg knows with its version
    and status, the entries apt would install, upgrade or downgrade (RV(missing)), and the
    names a purge would act on (RV(on_disk)).
  - The apt module opens apt's whole cache (about half a second) even when nothing is to do;
    dpkg-query answers in milliseconds, so roles ask it first and call apt only for RV(missing).
  - Reads only; changes nothing, and runs the same in check mode.
version_added: 0.1.0
author: FlowSpace infra (@flowspace)
options:
  names:
    description:
      - Package names, each optionally with a version as apt takes it, C(name=VERSION), where
        VERSION may be a glob (for example C(nodejs=20.*)).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - flowspace.infra.read_only
"""

EXAMPLES = r"""
- name: Find the packages not installed yet
  flowspace.infra.dpkg_query:
    names: [fail2ban, "nodejs=20.*"]
  register: dpkg

- name: Install them
  ansible.builtin.apt:
    name: "{{ dpkg.missing }}"
  when: dpkg.missing | length > 0
"""

RETURN = r"""
packages:
  description: Each of the names dpkg knows - version, status (dpkg's three letters) and installed
    (unpacked and configured, or only waiting for triggers). A name dpkg never heard of is absent.
  returned: always
  type: dict
  sample: {"fail2ban": {"version": "1.0.2-2", "status": "ii", "installed": true}}
missing:
  description: The entries of O(names), as given, not installed at a matching version.
  returned: always
  type: list
  elements: str
on_disk:
  description: The names dpkg still has files of (installed, half installed, or configuration left).
  returned: always
  type: list
  elements: str
"""

import fnmatch

from ansible.module_utils.basic import AnsibleModule

# Self-contained on purpose: a module that imports the collection's module_utils is run by Mitogen
# in a forked interpreter (~0.1 s a call); this one runs in the host's long-lived one.

# One line per package: name, version, the three-letter status, by tabs.
QUERY_FORMAT = "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"
# The second letter of db:Status-Abbrev: i installed, W/t installed but waiting for triggers.
INSTALLED = frozenset("iWt")
NOT_ON_DISK = "n"


def query_argv(names):
    """dpkg-query's command line for NAMES (bare names: a version glob is not dpkg's business)."""
    return ["dpkg-query", "-W", f"-f={QUERY_FORMAT}", *[spec.split("=", 1)[0] for spec in names]]


def parse(listing):
    """{name: {version, status, installed}} from dpkg-query's output; ValueError on a line that
    is not one. (dpkg-query exits 1 when a name is unknown to it; the other lines still hold.)"""
    packages = {}
    for line in (listing or "").splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or len(fields[2].strip()) < 2:
            raise ValueError(f"not a dpkg-query line (name, version, status by tabs): {line!r}")
        name, version, status = fields[0], fields[1], fields[2].strip()
        packages[name.split(":")[0]] = {"version": version, "status": status,
                                        "installed": status[1] in INSTALLED}
    return packages


def missing(wanted, packages):
    """The entries of WANTED (C(name) or C(name=VERSION), VERSION a glob as apt takes it) not
    installed at a matching version: what apt would install, upgrade or downgrade."""
    found_missing = []
    for spec in wanted:
        name, version = spec.split("=", 1) if "=" in spec else (spec, "")
        found = packages.get(name)
        wrong_version = version and found and not fnmatch.fnmatchcase(found["version"], version)
        if not found or not found["installed"] or wrong_version:
            found_missing.append(spec)
    return found_missing


def on_disk(names, packages):
    """The NAMES dpkg still has files of (installed, half installed or only configuration files
    left): what a purge would act on."""
    return [name for name in names if name in packages and packages[name]["status"][1] != NOT_ON_DISK]


def main():
    module = AnsibleModule(argument_spec={"names": {"type": "list", "elements": "str", "required": True}},
                           supports_check_mode=True)
    names = module.params["names"]
    packages = {}
    if names:
        rc, out, err = module.run_command(query_argv(names), environ_update={"LC_ALL": "C"})
        # 1: some name is unknown to dpkg (it is then missing); the other lines still hold.
        if rc not in (0, 1):
            module.fail_json(msg=f"dpkg-query failed (rc {rc}): {err.strip()}", rc=rc)
        try:
            packages = parse(out)
        except ValueError as error:
            module.fail_json(msg=str(error))
    module.exit_json(changed=False, packages=packages, missing=missing(names, packages),
                     on_disk=on_disk([spec.split("=", 1)[0] for spec in names], packages))


if __name__ == "__main__":
    main()
