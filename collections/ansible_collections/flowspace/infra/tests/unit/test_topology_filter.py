"""The topology filters: loopback while every client shares the service's host, the private
address (given, else the default route's) once one is elsewhere; the edge's upstreams."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.topology import (
    client_sources,
    internal_ports,
    listen_address,
    private_address,
    private_ports,
    public_addresses,
    upstreams,
)

HOSTVARS = {
    "edge": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.2"}}},
    "socket-a": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.3"}}, "socket_server_instances": 2},
    "socket-b": {"flowspace_private_address": "10.0.1.4",
                 "ansible_facts": {"default_ipv4": {"address": "192.0.2.4"}}},
    "no-facts": {},
}


def test_one_host_stays_on_loopback() -> None:
    assert listen_address("edge", ["edge"], HOSTVARS) == "127.0.0.1"
    assert upstreams(["edge"], ["edge"], HOSTVARS, 3001) == ["127.0.0.1:3001"]
    assert client_sources("edge", ["edge"], HOSTVARS) == []


def test_a_client_elsewhere_moves_the_service_to_the_private_address() -> None:
    assert listen_address("socket-a", ["edge"], HOSTVARS) == "10.0.0.3"
    assert listen_address("socket-b", ["edge"], HOSTVARS) == "10.0.1.4", "the given address wins"
    # The edge's own socket processes too, once another client exists.
    assert listen_address("edge", ["edge", "socket-a"], HOSTVARS) == "10.0.0.2"


def test_upstreams_count_each_hosts_processes() -> None:
    assert upstreams(["socket-a", "socket-b"], ["edge"], HOSTVARS, 3001, "socket_server_instances") == [
        "10.0.0.3:3001", "10.0.0.3:3002", "10.0.1.4:3001"]


def test_sources_are_the_other_clients_private_addresses() -> None:
    assert client_sources("socket-a", ["socket-a", "socket-b", "edge"], HOSTVARS) == ["10.0.0.2", "10.0.1.4"]


def test_an_unknown_address_is_named() -> None:
    with pytest.raises(AnsibleFilterError, match="private address of no-facts is unknown"):
        private_address("no-facts", HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="ghost is not in the inventory"):
        private_address("ghost", HOSTVARS)


def test_internal_ports_keep_only_what_another_host_uses() -> None:
    entries = [{"port": 3001, "protocol": "tcp", "purpose": "socket", "clients": ["edge"]},
               {"port": 6379, "protocol": "tcp", "purpose": "redis", "clients": ["edge", "socket-a"]}]
    assert internal_ports(entries, "edge") == [
        {"port": 6379, "protocol": "tcp", "purpose": "redis", "clients": ["socket-a"]}]
    assert private_ports(entries, "edge", HOSTVARS) == [
        {"port": 6379, "protocol": "tcp", "purpose": "redis", "sources": ["10.0.0.3"]}]
    assert private_ports(entries, "socket-a", HOSTVARS)[0]["sources"] == ["10.0.0.2"]


def test_the_address_comes_from_the_inventory_else_the_default_route_and_the_refusal_is_whole() -> None:
    facts = {"h": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.9"}}},
             "empty": {"ansible_facts": {"default_ipv4": {}}}}
    assert private_address("h", facts) == "10.0.0.9"
    with pytest.raises(AnsibleFilterError) as refused:
        private_address("empty", facts)
    assert str(refused.value) == (
        "the private address of empty is unknown: set flowspace_private_address for it, or run with it in "
        "the play (its facts give the address of its default route)")


def test_an_entry_without_clients_is_used_by_nobody_else() -> None:
    assert internal_ports([{"port": 1, "protocol": "tcp", "purpose": "x"}], "edge") == []


def test_the_public_address_is_the_given_one_else_ansible_host_with_ipv6_when_set() -> None:
    hostvars = {"a1": {"ansible_host": "203.0.113.10"},
                "lab": {"ansible_host": "127.0.0.1", "flowspace_public_ipv4": "172.17.0.5",
                        "flowspace_public_ipv6": "2001:DB8::5"}}
    assert public_addresses(["a1"], hostvars) == ["203.0.113.10"]
    assert public_addresses(["lab", "a1"], hostvars) == ["172.17.0.5", "2001:db8::5", "203.0.113.10"]
    assert public_addresses([], hostvars) == []


@pytest.mark.parametrize(("variables", "message"), [
    ({"ansible_host": "a1.example.com"},
     "a1 has no public IPv4 address: its ansible_host is 'a1.example.com'; set flowspace_public_ipv4 (or "
     "ansible_host) to the address its names must resolve to (./flowspace provision writes it)"),
    ({}, "a1 has no public IPv4 address: its ansible_host is ''; set flowspace_public_ipv4 (or "
         "ansible_host) to the address its names must resolve to (./flowspace provision writes it)"),
    ({"ansible_host": "203.0.113.10", "flowspace_public_ipv4": "edge.example"},
     "a1 has no public IPv4 address: its flowspace_public_ipv4 is 'edge.example'; set flowspace_public_ipv4 "
     "(or ansible_host) to the address its names must resolve to (./flowspace provision writes it)"),
    ({"ansible_host": "203.0.113.10", "flowspace_public_ipv6": "203.0.113.11"},
     "flowspace_public_ipv6 of a1 is not an IPv6 address: '203.0.113.11'"),
])
def test_a_host_without_a_public_address_is_named(variables, message) -> None:
    with pytest.raises(AnsibleFilterError) as refused:
        public_addresses(["a1"], {"a1": variables})
    assert str(refused.value) == message
    with pytest.raises(AnsibleFilterError, match="^ghost is not in the inventory$"):
        public_addresses(["ghost"], {})
