"""The collection's one rule for each kind of value its roles and playbooks take, beside
dns_name.py's: an IP address, a host:port, an e-mail address and a URL. Every check of such a
value (the roles' validate.yml, the preflight) goes through here, by way of the Jinja tests of
the same names (plugins/test/value_kinds.py)."""

import ipaddress
import re
from urllib.parse import urlsplit

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error

# A host name as a resolver takes it, one label or more ("localhost", "redis", "smtp.example").
_HOST_NAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
_LOCAL_PART = re.compile(r"^[^@\s]{1,64}$")


def ip_address(value, version=None, loopback=None):
    """The address (ipaddress object) when VALUE is an IP address of that version (4, 6 or any)
    and, when loopback is given, is (or is not) a loopback address; else None."""
    try:
        address = ipaddress.ip_address(value if isinstance(value, str) else "")
    except ValueError:
        return None
    if version is not None and address.version != int(version):
        return None
    if loopback is not None and address.is_loopback != bool(loopback):
        return None
    return address


def host_port(value):
    """(host, port) when VALUE is host:port (a host name, an IPv4 address or a [bracketed] IPv6
    one, and a port 1-65535); else None."""
    if not isinstance(value, str):
        return None
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        return (host[1:-1], int(port)) if ip_address(host[1:-1], version=6) else None
    if ip_address(host, version=4) or (_HOST_NAME.match(host) and not host.replace(".", "").isdigit()):
        return host, int(port)
    return None


def email_address(value):
    """Whether VALUE is local@domain with a DNS name for domain."""
    if not isinstance(value, str):
        return False
    local, separator, domain = value.rpartition("@")
    return bool(separator and _LOCAL_PART.match(local) and dns_name_error(domain) is None)


def url(value, schemes=("https",), path=True):
    """Whether VALUE is an absolute URL with one of SCHEMES and a host (no whitespace); with
    path=False, nothing after the host and port (an origin)."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if parts.scheme.lower() not in [s.lower() for s in schemes] or not parts.hostname:
        return False
    return path or not (parts.path or parts.query or parts.fragment)
