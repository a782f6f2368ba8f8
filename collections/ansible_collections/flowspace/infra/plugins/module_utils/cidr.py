"""The one rule for a CIDR block in this collection: an address with its prefix length and its
host bits clear, as Oracle's API takes it (the OCI filters and oci_network check through here)."""

import ipaddress


def is_cidr_block(text, version=None):
    """Whether TEXT is such a block (of IP VERSION 4 or 6 when given)."""
    if "/" not in str(text):
        return False
    try:
        network = ipaddress.ip_network(text, strict=True)
    except (TypeError, ValueError):
        return False
    return version is None or network.version == version
