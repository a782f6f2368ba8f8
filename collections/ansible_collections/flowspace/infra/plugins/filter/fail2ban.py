"""fail2ban's time values (findtime, bantime) as the seconds its server reports."""

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: fail2ban_seconds
short_description: A fail2ban time value in seconds
description:
  - fail2ban takes a time as seconds (C(600)) or as a sum of numbers with units (C(10m),
    C(1h 30m), C(2d)); C(fail2ban-client get JAIL bantime) reports it in seconds.
  - Units are C(s), C(m), C(h), C(d) and C(w), or their long forms (C(min), C(hours), C(days)).
  - Anything else is refused, so a value the role cannot compare never reaches the host.
positional: _input
options:
  _input:
    description: The time value.
    type: raw
    required: true
"""

# fail2ban_time_errors (a role's preflight check) takes a mapping of variable names to time
# values and gives one message per value that is not a time, naming its variable.

UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60,
         "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400,
         "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
PART = re.compile(r"\s*(\d+)\s*([a-z]*)")


def fail2ban_seconds(value):
    text = str(value).strip().lower()
    total, position, parts = 0, 0, 0
    while position < len(text):
        match = PART.match(text, position)
        if not match or match.group(2) not in UNITS and match.group(2) != "":
            raise AnsibleFilterError(f"{value!r} is not a fail2ban time: give seconds or numbers with"
                                     " units d, h, m, s, w (10m, 1h 30m)")
        total += int(match.group(1)) * UNITS.get(match.group(2), 1)
        position, parts = match.end(), parts + 1
    if not parts:
        raise AnsibleFilterError(f"{value!r} is not a fail2ban time: it is empty")
    return total


def fail2ban_time_errors(values):
    """Each NAME: VALUE of the mapping that is not a fail2ban time, as a message naming NAME."""
    errors = []
    for name, value in values.items():
        try:
            fail2ban_seconds(value)
        except AnsibleFilterError as error:
            errors.append(f"{name}: {error}")
    return errors


class FilterModule:
    def filters(self):
        return {"fail2ban_seconds": fail2ban_seconds, "fail2ban_time_errors": fail2ban_time_errors}
