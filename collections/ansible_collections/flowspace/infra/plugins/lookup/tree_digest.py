"""A short content digest of a directory tree on the controller, e.g. to name a release after
exactly the source it was built from."""

DOCUMENTATION = r"""
name: tree_digest
short_description: Digest of the files under a directory on the controller
description:
  - SHA-256 over every file's relative path and content, in sorted order, skipping the
    directory names in O(exclude); returns the first 12 hex digits. Unchanged trees give the
    same digest on any machine.
options:
  _terms:
    description: Directories to digest (one result each).
    required: true
  exclude:
    description: Directory names skipped wherever they appear.
    type: list
    elements: str
    default: [node_modules, dist, .git]
"""

EXAMPLES = r"""
- name: Name the release after its source
  ansible.builtin.set_fact:
    release: "{{ lookup('flowspace.infra.tree_digest', playbook_dir ~ '/../server') }}"
"""

RETURN = r"""
_raw:
  description: One 12-character hex digest per directory.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def tree_digest(root, exclude):
    if not os.path.isdir(root):
        raise AnsibleLookupError(f"tree_digest: {root} is not a directory")
    sha = hashlib.sha256()
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in exclude)
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).encode()
            with open(path, "rb") as handle:
                content = handle.read()
            sha.update(len(relative).to_bytes(8, "big") + relative)
            sha.update(len(content).to_bytes(8, "big") + content)
    return sha.hexdigest()[:12]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        exclude = set(self.get_option("exclude"))
        return [tree_digest(os.path.expanduser(str(term)), exclude) for term in terms]
