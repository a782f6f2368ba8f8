"""Filters for the stack's topology: which address a service listens on, and which addresses
its clients reach it at, worked out from the inventory's groups.

A service whose every client is on its own host listens on loopback (a one-host inventory
keeps working with no new variable); one with a client elsewhere listens on its host's private
address: `flowspace_private_address`, else the address of the host's default route.
"""

import ipaddress

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: listen_address
short_description: The address a service on a host listens on, given the hosts of its clients
description:
  - C(127.0.0.1) when every client host is the host itself (or there is none); otherwise the
    host's private address (C(flowspace_private_address), else its default route's address).
positional: _input, clients, hostvars
options:
  _input:
    description: The inventory name of the host the service runs on.
    type: str
    required: true
  clients:
    description: The inventory names of the hosts whose services connect to it.
    type: list
    elements: str
    required: true
  hostvars:
    description: Ansible's C(hostvars).
    type: dict
    required: true
"""

LOOPBACK = "127.0.0.1"


def private_address(host, hostvars):
    """The address other hosts of the stack reach `host` at."""
    if host not in hostvars:
        raise AnsibleFilterError(f"{host} is not in the inventory")
    variables = hostvars[host]
    address = variables.get("flowspace_private_address") or ""
    if not address:
        facts = variables.get("ansible_facts") or {}
        address = (facts.get("default_ipv4") or {}).get("address", "")
    if not address:
        raise AnsibleFilterError(
            f"the private address of {host} is unknown: set flowspace_private_address for it, or "
            "run with it in the play (its facts give the address of its default route)")
    return str(address)


def public_addresses(hosts, hostvars):
    """The addresses the world reaches `hosts` at (what their public names must resolve to):
    each host's `flowspace_public_ipv4`, else its `ansible_host` (the reserved public IP that
    provision writes), and its `flowspace_public_ipv6` when set."""
    found = []
    for host in hosts:
        if host not in hostvars:
            raise AnsibleFilterError(f"{host} is not in the inventory")
        variables = hostvars[host]
        source = "flowspace_public_ipv4" if variables.get("flowspace_public_ipv4") else "ansible_host"
        ipv4 = variables.get(source) or ""
        try:
            found.append(str(ipaddress.IPv4Address(str(ipv4))))
        except ValueError:
            raise AnsibleFilterError(
                f"{host} has no public IPv4 address: its {source} is {str(ipv4)!r}; set "
                "flowspace_public_ipv4 (or ansible_host) to the address its names must resolve to "
                "(./flowspace provision writes it)") from None
        ipv6 = variables.get("flowspace_public_ipv6") or ""
        if ipv6:
            try:
                found.append(str(ipaddress.IPv6Address(str(ipv6))))
            except ValueError:
                raise AnsibleFilterError(f"flowspace_public_ipv6 of {host} is not an IPv6 address: "
                                         f"{str(ipv6)!r}") from None
    return sorted(set(found))


def listen_address(host, clients, hostvars):
    if any(client != host for client in clients):
        return private_address(host, hostvars)
    return LOOPBACK


def upstreams(servers, clients, hostvars, port, instances_variable=""):
    """`address:port` of every server process the clients reach: each server host at the
    address it listens on, with `instances_variable` (a host variable, default 1) processes on
    consecutive ports from `port`."""
    found = []
    for host in servers:
        count = int(hostvars[host].get(instances_variable, 1)) if instances_variable else 1
        address = listen_address(host, clients, hostvars)
        found += [f"{address}:{int(port) + index}" for index in range(count)]
    return found


def client_sources(server, clients, hostvars):
    """The private addresses of the client hosts other than the server itself: the sources its
    firewall lets in."""
    return sorted({private_address(client, hostvars) for client in clients if client != server})


def internal_ports(entries, host):
    """The stack's ports between hosts that `host` must open: each entry's `clients` (host
    names) without the host itself; an entry no other host uses is dropped."""
    found = []
    for entry in entries:
        others = [client for client in entry.get("clients", []) if client != host]
        if others:
            found.append({**entry, "clients": others})
    return found


def private_ports(entries, host, hostvars):
    """internal_ports as the host firewall takes them: each entry's clients as the `sources`
    (private addresses) allowed in."""
    return [{**{key: value for key, value in entry.items() if key != "clients"},
             "sources": client_sources(host, entry["clients"], hostvars)}
            for entry in internal_ports(entries, host)]


class FilterModule:
    def filters(self):
        return {
            "private_address": private_address,
            "public_addresses": public_addresses,
            "listen_address": listen_address,
            "upstreams": upstreams,
            "client_sources": client_sources,
            "internal_ports": internal_ports,
            "private_ports": private_ports,
        }
