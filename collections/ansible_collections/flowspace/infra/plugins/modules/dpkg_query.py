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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils import dpkg


def main():
    module = AnsibleModule(argument_spec={"names": {"type": "list", "elements": "str", "required": True}},
                           supports_check_mode=True)
    names = module.params["names"]
    packages = {}
    if names:
        rc, out, err = module.run_command(dpkg.query_argv(names), environ_update={"LC_ALL": "C"})
        # 1: some name is unknown to dpkg (it is then missing); the other lines still hold.
        if rc not in (0, 1):
            module.fail_json(msg=f"dpkg-query failed (rc {rc}): {err.strip()}", rc=rc)
        try:
            packages = dpkg.parse(out)
        except ValueError as error:
            module.fail_json(msg=str(error))
    module.exit_json(changed=False, packages=packages, missing=dpkg.missing(names, packages),
                     on_disk=dpkg.on_disk([spec.split("=", 1)[0] for spec in names], packages))


if __name__ == "__main__":
    main()
