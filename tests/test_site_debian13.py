"""site.yml end to end on a fresh Debian 13 OCI-like host (test_site.py does Debian 12 and
the drift and bad-input catalogues): users reach every service, a re-run changes nothing."""

import pytest

from labkit import stack_check
from site_stack import SiteHost, assert_a_rerun_changes_nothing, assert_users_reach_every_service

pytestmark = pytest.mark.integration

SSH_PORT = 2362


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    stack = SiteHost("debian13", SSH_PORT, tmp_path_factory.mktemp("site13"))
    stack.first = stack.converge()
    yield stack
    stack.remove()


def test_users_reach_every_service(site) -> None:
    findings = assert_users_reach_every_service(site, site.first)
    print(f"\nfirst converge of site.yml (debian13): {site.first.seconds} s\n{stack_check.report(findings)}")


def test_a_rerun_changes_nothing_and_the_drift_report_agrees(site) -> None:
    again = assert_a_rerun_changes_nothing(site)
    print(f"\nno-op re-run of site.yml (debian13): {again.seconds} s")
