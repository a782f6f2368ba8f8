"""Where FlowSpace keeps machine-wide state on the controller, by the one rule in module_utils."""

DOCUMENTATION = r"""
name: cache_dir
short_description: The controller folder FlowSpace keeps built releases and generated keys in
description:
  - C($FLOWSPACE_CACHE_DIR), else C($XDG_CACHE_HOME/flowspace), else C(~/.cache/flowspace), read
    from the controller's environment. With terms, the paths of those names inside it.
options:
  _terms:
    description: Names inside the folder (none for the folder itself).
    required: false
"""

EXAMPLES = r"""
- name: Where the socket server's releases are built
  ansible.builtin.debug:
    msg: "{{ lookup('flowspace.infra.cache_dir', 'builds') }}"
"""

RETURN = r"""
_raw:
  description: The folder, or one path per name.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir


class LookupModule(LookupBase):
    """The folder by its rule, or the paths of the names given inside it (credentials_dir
    reuses this with its own rule)."""

    folder = staticmethod(flowspace_cache_dir)

    def run(self, terms, variables=None, **kwargs):
        base = self.folder()
        return [f"{base}/{term}" for term in terms] if terms else [base]
