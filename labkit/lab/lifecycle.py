"""The lab: the hosts of inventories/lab as OCI-like containers on this machine.

The lab inventory is the one place that says which hosts exist: each host's `lab_flavour`
picks the image and its `ansible_port` is the loopback port its SSH is published on.
"""

from labkit.lab import hosts
from labkit.lab.inventory import Inventory
from labkit.standins import pebble, vercel_emulator

SITE_NAME_VARIABLES = ("flowspace_socket_domain", "flowspace_livekit_domain", "flowspace_turn_domain")


def up() -> list[hosts.Host]:
    """Start the lab hosts (a host already running from the current image is kept), the
    lab's ACME server, whose DNS then answers the stack's names with the lab host's address,
    and the Vercel API emulator holding the lab's project."""
    lab = Inventory()
    started = [
        hosts.start(name, lab.value(name, "lab_flavour"), int(lab.value(name, "ansible_port")), reuse=True)
        for name in lab.hosts()
    ]
    acme = pebble.ensure_running()
    for host in started[:1]:  # one edge host: the names point at the first lab host
        for variable in SITE_NAME_VARIABLES:
            acme.add_a(lab.value(host.name, variable), host.ip_address())
    vercel_emulator.ensure_running()
    return started


def down() -> list[str]:
    """Remove the lab's containers and stop its ACME server and Vercel emulator."""
    names = hosts.lab_containers()
    for name in names:
        hosts.remove(name)
    return names + pebble.stop() + vercel_emulator.stop()
