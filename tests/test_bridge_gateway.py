"""labkit.pebble finds the host's address on Docker's bridge even when the engine leaves the
network's IPAM gateway empty (Debian's docker.io 20.10 on a fresh start)."""

import pytest

from labkit.standins.pebble import bridge_gateway

pytestmark = pytest.mark.machine

SUBNET_ONLY = {"IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
               "Options": {"com.docker.network.bridge.name": "docker0"}}


def no_interface(_name):
    return []


def test_the_ipam_gateway_when_the_engine_gives_it() -> None:
    network = {"IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.9"}]}}
    assert bridge_gateway(network, no_interface) == "172.18.0.9"


def test_an_empty_gateway_falls_back_to_the_bridge_interface_address() -> None:
    seen = []

    def addresses(name):
        seen.append(name)
        return ["10.0.0.5", "172.17.0.1"]

    network = {**SUBNET_ONLY, "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": ""}]}}
    assert bridge_gateway(network, addresses) == "172.17.0.1"
    assert seen == ["docker0"]


def test_without_the_interface_the_subnets_first_host() -> None:
    assert bridge_gateway(SUBNET_ONLY, no_interface) == "172.17.0.1"


def test_ipv6_entries_are_skipped() -> None:
    network = {"IPAM": {"Config": [{"Subnet": "fd00::/64", "Gateway": "fd00::1"},
                                   {"Subnet": "192.168.5.0/24"}]}}
    assert bridge_gateway(network, no_interface) == "192.168.5.1"


def test_nothing_to_go_on_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="neither a gateway nor an IPv4 subnet"):
        bridge_gateway({"IPAM": {"Config": None}}, no_interface)
