"""A real first boot: an OCI-Ubuntu-like host that has only cloud-init and Oracle's firewall
boots with the user_data playbooks/cloud_init.yml renders from the inventory (NoCloud seed, as
Oracle's metadata service hands it over), and site.yml then converges it over SSH as the admin
user with no manual step."""

import json

import pytest

from ansible_run import run_playbook, ssh_host_vars, write_inventory
from labkit.lab import hosts, images
from labkit.standins import pebble

pytestmark = pytest.mark.integration

HOST_NAME = "flowspace-pytest-firstboot"
SSH_PORT = 2331
DOMAINS = {"flowspace_socket_domain": "socket.firstboot.pytest.test",
           "flowspace_livekit_domain": "livekit.firstboot.pytest.test"}


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    work = tmp_path_factory.mktemp("firstboot")
    inventory = write_inventory(work / "hosts.json", {HOST_NAME: {**ssh_host_vars(SSH_PORT), **DOMAINS}})
    rendered = run_playbook(inventory, "playbooks/cloud_init.yml", "-e", f"cloud_init_dir={work / 'out'}")
    assert rendered.returncode == 0, rendered.output[-3000:]
    seed = work / "seed"
    seed.mkdir()
    (seed / "user-data").write_text((work / "out" / f"{HOST_NAME}.yaml").read_text())
    (seed / "meta-data").write_text(f"instance-id: iid-{HOST_NAME}\nlocal-hostname: {HOST_NAME}\n")
    image = images.build_firstboot(images.FLAVOURS["debian12"])
    host = hosts.start(HOST_NAME, "debian12", SSH_PORT, image=image, timeout=300,
                       extra_args=["-v", f"{seed}:/var/lib/cloud/seed/nocloud:ro"])
    yield host, inventory
    hosts.remove(host.name)


def test_cloud_init_applied_the_rendered_user_data(booted) -> None:
    host, _inventory = booted
    status = host.exec("cloud-init", "status", "--long").stdout
    assert "status: done" in status and "DataSourceNoCloud" in status
    schema = host.exec("cloud-init", "schema", "--config-file", "/var/lib/cloud/seed/nocloud/user-data")
    assert "Valid cloud-config" in schema.stdout
    assert host.exec("sudo", "-u", "ubuntu", "sudo", "-n", "true", check=False).returncode == 0
    assert host.exec("passwd", "-S", "ubuntu").stdout.split()[1] == "L", "password login stays locked"
    assert host.exec("python3", "-c", "import apt").returncode == 0
    rules = host.exec("iptables", "-S").stdout.splitlines()
    assert "-N InstanceServices" in rules, "Oracle's firewall left intact"
    last_input = [rule for rule in rules if rule.startswith("-A INPUT")][-1]
    assert last_input == "-A INPUT -j REJECT --reject-with icmp-host-prohibited"


def test_site_converges_over_ssh_as_the_admin_user(booted) -> None:
    host, inventory = booted
    acme = pebble.ensure_running()
    for domain in DOMAINS.values():
        acme.add_a(domain, host.ip_address())
    # Ansible's plain linear strategy here (ansible.cfg's is Mitogen's): the plays do not
    # depend on it. The Vercel layer is test_site's; this host's app is not on Vercel.
    run = run_playbook(inventory, "site.yml", "-e", "flowspace_vercel_sync=false", timeout=1200,
                       env={"ANSIBLE_STRATEGY": "linear"})
    assert run.returncode == 0, run.output[-3000:]
    assert host.exec("systemctl", "is-active", "caddy").stdout.strip() == "active"
    assert "passwordauthentication no" in host.exec("sshd", "-T").stdout.splitlines()


def test_keys_that_are_not_ssh_public_keys_are_refused(booted, tmp_path) -> None:
    _host, inventory = booted
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"flowspace_admin_ssh_public_keys": ["my key"],
                                 "cloud_init_dir": str(tmp_path)}))
    run = run_playbook(inventory, "playbooks/cloud_init.yml", "-e", f"@{extra}")
    assert run.returncode != 0
    assert "must be an OpenSSH public key line" in " ".join(run.failures[HOST_NAME])
    assert not (tmp_path / f"{HOST_NAME}.yaml").exists()
