"""The filters that let a role skip apt when dpkg already has every package: read from the real
dpkg-query of this machine, and from listings of the states a host can be in."""

import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.packages import (
    dpkg_packages,
    packages_missing,
    packages_on_disk,
)

FORMAT = "-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"  # as the roles ask
LISTING = "\n".join([
    "nodejs\t20.18.1-1nodesource1\tii ",
    "prometheus-alertmanager\t0.25.0+ds-2\trc ",  # removed, its configuration left
    "caddy\t2.11.9\thi ",  # held
    "fail2ban\t1.0.2-2\tiU ",  # unpacked, not configured
    "libc6:arm64\t2.36-9\tii ",
    "needrestart\t3.6-4\tiW ",  # installed, waiting for triggers
    "",
])


def test_the_real_dpkg_query_listing_is_read() -> None:
    run = subprocess.run(["dpkg-query", "-W", FORMAT, "dpkg", "no-such-package-here"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1  # the roles accept 1: a name unknown to dpkg
    assert dpkg_packages(run.stdout)["dpkg"]["installed"]
    assert packages_missing(["dpkg", "no-such-package-here"], run.stdout) == ["no-such-package-here"]
    version = dpkg_packages(run.stdout)["dpkg"]["version"]
    assert packages_missing(f"dpkg={version.split('.')[0]}.*", run.stdout) == []
    assert packages_missing("dpkg=0.0.*", run.stdout) == ["dpkg=0.0.*"]


def test_what_apt_would_install_upgrade_or_downgrade() -> None:
    assert packages_missing(["nodejs=20.*", "caddy", "libc6", "needrestart"], LISTING) == []
    assert packages_missing(["nodejs=22.*"], LISTING) == ["nodejs=22.*"]
    assert packages_missing(["prometheus-alertmanager", "fail2ban", "curl"], LISTING) == [
        "prometheus-alertmanager", "fail2ban", "curl"]
    assert packages_missing([], LISTING) == []
    assert packages_missing(["curl"], "") == ["curl"]


def test_what_a_purge_would_act_on() -> None:
    assert packages_on_disk(["prometheus-alertmanager", "nodejs", "curl"], LISTING) == [
        "prometheus-alertmanager", "nodejs"]
    assert packages_on_disk("prometheus-alertmanager", "prometheus-alertmanager\t\tpn \n") == []


def test_a_listing_in_another_format_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="not a dpkg-query line"):
        dpkg_packages("nodejs 20.18.1 ii\n")
