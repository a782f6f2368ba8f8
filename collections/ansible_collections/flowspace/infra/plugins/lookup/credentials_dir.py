"""Where a controller keeps the stack's generated secrets, by the one rule in module_utils."""

DOCUMENTATION = r"""
name: credentials_dir
short_description: The controller folder the stack's generated secrets are kept in
description:
  - C($FLOWSPACE_CREDENTIALS_DIR), else C(~/.config/flowspace/credentials), read from the
    controller's environment. With terms, the folders of those names inside it (one per
    thing kept, such as C(socket-<domain>)).
  - A cache of what the hosts and the vault hold; every role finds its secret on the host when
    the folder is empty (a new controller, a CI runner).
options:
  _terms:
    description: Names inside the folder (none for the folder itself).
    required: false
"""

EXAMPLES = r"""
- name: Where the socket server's signing secret is kept
  ansible.builtin.debug:
    msg: "{{ lookup('flowspace.infra.credentials_dir', 'socket-' ~ socket_server_public_domain) }}"
"""

RETURN = r"""
_raw:
  description: The folder, or one path per name.
  type: list
  elements: str
"""

from ansible_collections.flowspace.infra.plugins.lookup.cache_dir import LookupModule as FolderLookup
from ansible_collections.flowspace.infra.plugins.module_utils.credentials_dir import flowspace_credentials_dir


class LookupModule(FolderLookup):
    folder = staticmethod(flowspace_credentials_dir)
