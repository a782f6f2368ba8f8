"""The linear strategy run over Mitogen: each host keeps one Python interpreter for the whole
run instead of starting one per task, which makes a no-op re-run of site.yml about 2.4x faster.
Tasks, check mode, diff and handlers behave exactly as with `linear`; the project's ansible.cfg
selects it and `ANSIBLE_STRATEGY=linear` turns it off."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Ansible's linear strategy over Mitogen's persistent interpreters
description:
  - Runs tasks like C(ansible.builtin.linear), each host's modules in one long-lived Python
    interpreter reached over Mitogen.
  - Needs the C(mitogen) Python package on the controller (the project pins it in its
    requirements.txt); without it the run stops with a message saying so. Set
    C(ANSIBLE_STRATEGY=linear) to run without Mitogen.
  - Reads each play's C(vars_files) once per run, as Ansible does for inventory C(group_vars)
    (C(linear) parses them again for every task); a vars file changed during a run is read
    at the next run.
  - Formerly C(flowspace.infra.fast_linear), which still redirects here.
author: FlowSpace infra (@flowspace)
"""

from ansible.collections.list import list_collection_dirs
from ansible.errors import AnsibleError
from ansible.plugins.strategy.linear import StrategyModule as _PlainLinear

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as error:
    # Importable without Mitogen (ansible-doc, the sanity tests); a run that selects it stops
    # when the strategy starts, with this message.
    _MITOGEN_MISSING = error
else:
    _MITOGEN_MISSING = None


def _read_vars_files_once(loader):
    """Ansible parses a play's vars_files again for every task (only vaulted ones are cached):
    a no-op site.yml read playbooks/vars/stack.yml ~400 times (~0.8 s). They do not change
    during a run, so they are cached like inventory group_vars files are."""
    if getattr(loader, "_flowspace_vars_files_cached", False):
        return
    load_from_file = loader.load_from_file

    def load_from_file_cached(file_name, cache="all", unsafe=False, json_only=False):
        return load_from_file(file_name, cache="all" if cache == "vaulted" else cache,
                              unsafe=unsafe, json_only=json_only)

    loader.load_from_file = load_from_file_cached
    loader._flowspace_vars_files_cached = True


if _MITOGEN_MISSING is None:
    _Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):
        def run(self, iterator, play_context):
            # Each task runs in a worker forked from this process, and Mitogen lists the
            # installed collections in it for every collection module it runs. The first listing
            # in a process imports and caches what it needs (~0.08 s); done here at each play's
            # start (~0.01 s after the first), every worker inherits it.
            list(list_collection_dirs())
            _read_vars_files_once(self._loader)
            return super().run(iterator, play_context)

else:

    class StrategyModule(_PlainLinear):
        def __init__(self, *args, **kwargs):
            raise AnsibleError(
                "the flowspace.infra.mitogen_linear strategy needs the 'mitogen' Python package on "
                "the controller (pip install mitogen, as pinned in the project's requirements.txt), "
                f"or run with ANSIBLE_STRATEGY=linear. ({_MITOGEN_MISSING})"
            )
