"""The attributes of a module that supports check mode and diff mode in full, or check mode
alone (check_and_diff.check_only). A module adds its own details under the same keys.
(Literal strings: ansible-test reads documentation without running it.)"""


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

    CHECK_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description:
      Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
"""
