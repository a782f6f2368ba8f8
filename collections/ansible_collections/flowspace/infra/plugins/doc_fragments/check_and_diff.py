"""The attributes of a module that supports check mode and diff mode in full."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    support: full
    description:
      Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
"""
