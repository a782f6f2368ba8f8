"""The one rule for a public DNS name in this collection: what Caddy can get a certificate for.

At least two labels of letters, digits and inner hyphens, each 1-63 characters, 253 in all; one
trailing dot allowed; no scheme, port, path, wildcard or IP address. Every check of a domain
(preflight, the Vercel play, the roles, the filters) goes through here.
"""

import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def dns_name_error(value):
    """None when VALUE is a DNS name, else one line saying what is wrong with it."""
    if not isinstance(value, str) or not value:
        return "is missing"
    labels = value.lower()[:-1].split(".") if value.endswith(".") else value.lower().split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return f"{value!r} is not a DNS name (no scheme, port or path)"
    if labels[-1].isdigit():
        return f"{value!r} is an address, not a DNS name"
    return None
