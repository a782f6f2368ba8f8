"""fail2ban_seconds: the role's findtime/bantime as fail2ban-client reports them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.fail2ban import fail2ban_seconds, fail2ban_time_errors


@pytest.mark.parametrize(("value", "seconds"), [
    ("600", 600), (600, 600), ("10m", 600), ("1h", 3600), ("1h 30m", 5400), ("1h30m", 5400),
    ("2d", 172800), ("1w", 604800), ("45s", 45), ("3 hours", 10800), ("5min", 300), (" 1H ", 3600),
])
def test_times_in_seconds(value, seconds) -> None:
    assert fail2ban_seconds(value) == seconds


@pytest.mark.parametrize("value", ["", "   ", "ten minutes", "10x", "1h-", "-5", "1.5h", "h"])
def test_what_is_not_a_time_is_refused_naming_the_value(value) -> None:
    with pytest.raises(AnsibleFilterError, match="is not a fail2ban time"):
        fail2ban_seconds(value)


def test_the_role_check_names_each_variable_that_is_not_a_time() -> None:
    errors = fail2ban_time_errors({"base_hardening_fail2ban_findtime": "10m",
                                   "base_hardening_fail2ban_bantime": "forever"})
    assert errors == ["base_hardening_fail2ban_bantime: 'forever' is not a fail2ban time: give seconds"
                      " or numbers with units d, h, m, s, w (10m, 1h 30m)"]
