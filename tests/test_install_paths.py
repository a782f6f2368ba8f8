"""Production's own install paths, on the Debian 13 site host (tests/conftest.py's `sites`),
which site.yml converged with the roles' default methods from the lab's upstream mirror
(labkit.mirror): what each service was installed from, and the source faults a real deployment
meets — a wrong checksum, a bad repository signature, an unreachable source — each refused with
a clear message, leaving the running service, its version and the host's apt sources as they were;
and for LiveKit, Caddy and the Node.js major an upgrade, a broken build (the previous version
put back by itself) and a downgrade."""

import json
import os
import shutil
import time

import pytest
from livekit import api

from ansible_run import run_playbook
from labkit.clients.livekit_clients import LiveKitClients
from labkit.lab import binaries
from labkit.mirror import apt_repo, debs, livekit_release, server, site
from labkit.mirror.signing import Signer, lab_signer
from labkit.standins import pebble

pytestmark = [pytest.mark.integration, pytest.mark.site_flavour("debian13")]

CADDY_SOURCE = "/etc/apt/sources.list.d/caddy-stable.sources"
NEXT_NODE = "24.21.0"  # the next major, from the npm registry's node-linux-<arch>
CADDY_KEY = "/etc/apt/keyrings/caddy-stable.asc"


@pytest.fixture(scope="module")
def stack(sites):
    converged = sites("debian13")
    assert converged.first.returncode == 0, converged.first.output[-3000:]
    return converged


def sh(stack, command: str) -> str:
    return stack.host.exec("sh", "-c", command).stdout.strip()


def answers(stack, url: str, *curl: str) -> str:
    """What the host's URL answers now (status code and body), asked on the host itself."""
    return sh(stack, f"curl -sk --max-time 10 -w ' %{{http_code}}' {' '.join(curl)} {url}")


def service_state(stack) -> dict:
    """What must not move when a source is refused: each service's process and version."""
    return {
        "caddy": sh(stack, "systemctl show -p MainPID,ActiveState caddy; dpkg-query -W caddy"),
        "livekit": sh(
            stack, "systemctl show -p MainPID,ActiveState livekit; readlink /usr/local/bin/livekit-server"
        ),
        "apt": sh(stack, f"cat {CADDY_SOURCE} {CADDY_KEY}; ls /etc/apt/sources.list.d /etc/apt/keyrings"),
    }


@pytest.fixture
def faulty_mirror(tmp_path):
    """A copy of the mirror (hard links) that a test may break, served on a port of its own."""
    root = tmp_path / "mirror"
    shutil.copytree(site.built(), root, copy_function=os.link)
    mirror, base_url = server.serve(root, pebble.docker_gateway())
    yield root, base_url
    mirror.shutdown()


def converge_one(stack, playbook: str, tmp_path, **overrides):
    override = tmp_path / "override.json"
    override.write_text(json.dumps(overrides))
    return run_playbook(stack.inventory, playbook, "-e", f"@{stack.extra}", "-e", f"@{override}", timeout=600)


def assert_a_broken_version_goes_back(  # noqa: PLR0913
    stack, playbook: str, tmp_path, unit: str, served_at: tuple[str, str], said: tuple[str, ...], **overrides
) -> None:
    """The playbook with a version that cannot serve: the run fails saying so (every text of
    `said`), and the unit, back on the version before, is active and answers 200 with the
    expected text at `served_at` (URL, text; through Caddy's site name when it is https)."""
    bad = converge_one(stack, playbook, tmp_path, **overrides)
    assert bad.returncode != 0
    missing = [text for text in said if text not in bad.output]
    assert not missing, f"the failure does not say {missing}: {bad.output[-3000:]}"
    assert sh(stack, f"systemctl is-active {unit}") == "active"
    url, expected = served_at
    pinned = ("--resolve", f"{stack.socket_domain}:443:127.0.0.1") if url.startswith("https") else ()
    served = answers(stack, url, *pinned)
    assert served.endswith(" 200") and expected in served, f"the version gone back fails {url}: {served}"


def test_each_service_came_from_its_upstream_layout(stack, upstream_mirror) -> None:
    assert sh(stack, "dpkg-query -W -f '${Version} ${Status}' caddy") == "2.11.9 hold ok installed"
    assert f"{upstream_mirror}/dl.cloudsmith.io/public/caddy/stable/deb/debian any-version/main" in sh(
        stack, "apt-cache policy caddy"
    )
    assert sh(stack, "readlink /usr/local/bin/livekit-server") == "/opt/livekit/1.13.5/livekit-server"
    assert (
        sh(stack, "sha256sum /opt/livekit/1.13.5/livekit.tar.gz | cut -d' ' -f1")
        in (site.built() / site.LIVEKIT / "v1.13.5" / "checksums.txt").read_text()
    )
    assert sh(stack, "node --version") == f"v{site.NODE_VERSION}"
    assert sh(stack, "dpkg-query -W -f '${Version}' nodejs") == f"{site.NODE_VERSION}-1nodesource1"
    assert sh(stack, "systemctl is-active caddy livekit").split() == ["active", "active"]


def test_a_release_whose_checksum_does_not_match_is_refused(stack, faulty_mirror, tmp_path) -> None:
    root, base_url = faulty_mirror
    good = root / site.LIVEKIT / "v1.13.5"
    bad = root / site.LIVEKIT / "v1.13.6"
    bad.mkdir()
    os.link(good / "livekit_1.13.5_linux_amd64.tar.gz", bad / "livekit_1.13.6_linux_amd64.tar.gz")
    (bad / "checksums.txt").write_text(f"{'0' * 64}  livekit_1.13.6_linux_amd64.tar.gz\n")
    before = service_state(stack)
    run = converge_one(
        stack,
        "playbooks/livekit.yml",
        tmp_path,
        livekit_version="1.13.6",
        livekit_release_base_url=f"{base_url}/{site.LIVEKIT}",
    )
    assert run.returncode != 0
    assert "could not fetch livekit-server 1.13.6 from" in run.output, run.output[-3000:]
    assert "did not match" in run.output and "the version in use keeps running" in run.output
    assert service_state(stack) == before
    assert sh(stack, "ls /opt/livekit") == "1.13.5", "the refused version left a folder"


def test_a_repository_signed_by_another_key_is_refused_and_the_source_put_back(
    stack, faulty_mirror, tmp_path
) -> None:
    root, base_url = faulty_mirror
    Signer(tmp_path / "other-gnupg", "Someone else <other@flowspace.test>").sign_release(
        root / site.CADDY / "deb" / "debian" / "dists" / "any-version" / "Release"
    )
    before = service_state(stack)
    run = converge_one(stack, "playbooks/edge.yml", tmp_path, **site.role_vars(base_url))
    assert run.returncode != 0
    assert "apt could not use the caddy-stable repository" in run.output, run.output[-3000:]
    assert "previous key and source are back in place" in run.output
    assert service_state(stack) == before
    assert "NO_PUBKEY" not in sh(stack, "apt-get update 2>&1"), "the refused source was left behind"


def test_an_unreachable_source_is_refused_before_anything_changes(stack, tmp_path) -> None:
    before = service_state(stack)
    nowhere = f"http://{pebble.docker_gateway()}:9"  # the discard port: nothing listens there
    run = converge_one(
        stack,
        "playbooks/livekit.yml",
        tmp_path,
        livekit_version="1.13.6",
        livekit_release_base_url=f"{nowhere}/{site.LIVEKIT}",
    )
    assert run.returncode != 0 and "Connection refused" in run.output, run.output[-3000:]
    assert f"could not fetch livekit-server 1.13.6 from {nowhere}/" in run.output
    run = converge_one(stack, "playbooks/edge.yml", tmp_path, **site.role_vars(nowhere))
    assert run.returncode != 0 and "Connection refused" in run.output, run.output[-3000:]
    assert "could not fetch the signing key of the caddy-stable repository from" in run.output
    assert service_state(stack) == before


BROKEN_BUILD = """#!/bin/sh
# A livekit-server that reports a version but never serves: it must not stay in place.
[ "$1" = --version ] && { echo "livekit-server version 1.13.7"; exit 0; }
echo "this build is broken" >&2
exit 1
"""


def executable(path, script: str):
    """A deliberately broken build: SCRIPT as an executable file at PATH."""
    path.write_text(script)
    path.chmod(0o755)
    return path


def participants_back(calls: LiveKitClients, room: str, wanted: set, seconds: float = 60) -> set:
    """The identities in `room` once all of `wanted` are there again (or when time runs out)."""
    deadline = time.monotonic() + seconds
    while True:
        listed = calls.server_api(lambda c: c.room.list_participants(api.ListParticipantsRequest(room=room)))
        present = {p.identity for p in listed.participants}
        if wanted <= present or time.monotonic() > deadline:
            return present
        time.sleep(2)


def livekit_link(stack) -> str:
    return sh(stack, "readlink /usr/local/bin/livekit-server")


def test_a_livekit_upgrade_restarts_once_a_broken_one_goes_back_and_a_downgrade_returns(
    stack, faulty_mirror, tmp_path
) -> None:
    root, base_url = faulty_mirror
    arch = binaries.goarch()
    broken = executable(tmp_path / "livekit-server", BROKEN_BUILD)
    livekit_release.build(root / site.LIVEKIT, "1.13.6", {arch: binaries.livekit_server()})
    livekit_release.build(root / site.LIVEKIT, "1.13.7", {arch: broken})
    mirror = {"livekit_release_base_url": f"{base_url}/{site.LIVEKIT}"}
    pid = sh(stack, "systemctl show -p MainPID --value livekit")
    since = sh(stack, "date '+%Y-%m-%d %H:%M:%S'")

    # A call is in progress while the version changes: it is reported, and the old server drains.
    clients = stack.stack()
    calls = LiveKitClients(clients.livekit_domain, clients.address, clients.ca_file,
                           clients.livekit_key, clients.livekit_secret)
    with calls.call_in_progress("standup", tmp_path, stay=300):
        up = converge_one(stack, "playbooks/livekit.yml", tmp_path, livekit_version="1.13.6", **mirror)
        back = participants_back(calls, "standup", {"speaker", "listener"})
    assert up.returncode == 0, up.output[-3000:]
    assert livekit_link(stack) == "/opt/livekit/1.13.6/livekit-server"
    assert up.changed(stack.name).count("livekit : Restart livekit") == 1
    assert sh(stack, "systemctl show -p MainPID --value livekit") != pid
    rooms = up.result("livekit : List the rooms in progress before the version changes", stack.name)
    assert json.loads(rooms["stdout"]) == [{"name": "standup", "participants": 2}], rooms
    report = up.result("livekit : Report the rooms the version change restarts", stack.name)
    assert "1.13.5 -> 1.13.6: 1 room(s) in progress (standup: 2 participant(s))" in report["msg"], report
    drained = sh(stack, f"journalctl -u livekit --since '{since}' --no-pager -o cat")
    assert "waiting for participants to exit" in drained, drained[-3000:]
    assert back == {"speaker", "listener"}  # the call went on, on the new version
    again = converge_one(stack, "playbooks/livekit.yml", tmp_path, livekit_version="1.13.6", **mirror)
    assert again.returncode == 0 and again.changed(stack.name) == [], again.changed_tasks

    assert_a_broken_version_goes_back(
        stack, "playbooks/livekit.yml", tmp_path, "livekit", ("http://127.0.0.1:7880/", "OK"),
        ("livekit-server 1.13.7 did not answer", "went back to 1.13.6, which answers again"),
        livekit_version="1.13.7", livekit_start_timeout=8, **mirror)
    assert livekit_link(stack) == "/opt/livekit/1.13.6/livekit-server"

    down = converge_one(stack, "playbooks/livekit.yml", tmp_path)  # the inventory's 1.13.5
    assert down.returncode == 0, down.output[-3000:]
    assert livekit_link(stack) == "/opt/livekit/1.13.5/livekit-server"
    assert down.changed(stack.name).count("livekit : Restart livekit") == 1


def caddy_version(stack) -> str:
    return sh(stack, "dpkg-query --show --showformat='${Version} ${Status}' caddy")


def test_a_caddy_upgrade_serves_a_broken_one_goes_back_and_a_downgrade_returns(
    stack, faulty_mirror, tmp_path
) -> None:
    root, base_url = faulty_mirror
    arch = binaries.goarch()
    broken = executable(tmp_path / "caddy", "#!/bin/sh\necho 'this build is broken' >&2\nexit 1\n")
    repository = root / site.CADDY / "deb" / "debian"
    added = [
        debs.caddy(binaries.caddy(), "2.11.10", arch, tmp_path / "debs"),
        debs.caddy(broken, "2.11.11", arch, tmp_path / "debs"),
    ]
    published = sorted(repository.glob("pool/**/*.deb"))
    apt_repo.build(repository, "any-version", published + added, lab_signer(), origin="caddy-stable")
    mirror = site.role_vars(base_url)

    since = sh(stack, "date +%s")
    up = converge_one(stack, "playbooks/edge.yml", tmp_path, caddy_version="2.11.10", **mirror)
    assert up.returncode == 0, up.output[-3000:]
    assert caddy_version(stack) == "2.11.10 hold ok installed"
    stops = sh(stack, f"journalctl -u caddy --since @{since} --output=cat | grep -c '^Stopped caddy.service'")
    assert stops == "1", "the upgrade is one restart"
    again = converge_one(stack, "playbooks/edge.yml", tmp_path, caddy_version="2.11.10", **mirror)
    assert again.returncode == 0 and again.changed(stack.name) == [], again.changed_tasks

    assert_a_broken_version_goes_back(
        stack, "playbooks/edge.yml", tmp_path, "caddy",
        (f"https://{stack.socket_domain}/healthz", '"status":"ok"'),
        ("caddy 2.11.11 did not serve", "went back to 2.11.10, which serves again"),
        caddy_version="2.11.11", caddy_start_timeout=6, **mirror)
    assert caddy_version(stack) == "2.11.10 hold ok installed"

    down = converge_one(stack, "playbooks/edge.yml", tmp_path)  # the inventory's version and mirror
    assert down.returncode == 0, down.output[-3000:]
    assert caddy_version(stack) == "2.11.9 hold ok installed"


BROKEN_NODE = """#!/bin/sh
# A node that reports a version but runs nothing: the socket server cannot start on it.
[ "$1" = --version ] && { echo v25.0.0; exit 0; }
echo "this build is broken" >&2
exit 1
"""


def test_a_node_major_change_restarts_the_server_a_broken_one_goes_back_and_a_downgrade_returns(
    stack, faulty_mirror, tmp_path
) -> None:
    root, base_url = faulty_mirror
    arch, signer = binaries.goarch(), lab_signer()
    broken = executable(tmp_path / "node", BROKEN_NODE)
    for major, deb in (
        (24, debs.nodejs(site.node_binary(arch, NEXT_NODE), NEXT_NODE, arch, tmp_path / "debs")),
        (25, debs.nodejs(broken, "25.0.0", arch, tmp_path / "debs")),
    ):
        apt_repo.build(
            root / site.NODESOURCE / f"node_{major}.x", "nodistro", [deb], signer, origin="Node Source"
        )
    mirror = site.role_vars(base_url)
    pid = sh(stack, "systemctl show -p MainPID --value flowspace-socket@1")

    up = converge_one(stack, "playbooks/socket.yml", tmp_path, socket_server_nodejs_major=24, **mirror)
    assert up.returncode == 0, up.output[-3000:]
    assert sh(stack, "node --version") == f"v{NEXT_NODE}"
    restarted = sh(stack, "systemctl show -p MainPID --value flowspace-socket@1")
    assert restarted != pid, "not restarted on Node 24"

    assert_a_broken_version_goes_back(
        stack, "playbooks/socket.yml", tmp_path, "flowspace-socket@1",
        ("http://127.0.0.1:3001/healthz", '"status":"ok"'),
        ("failed its health gate", "on Node.js 25.x", f"and Node.js {NEXT_NODE}-1nodesource1."),
        socket_server_nodejs_major=25, **mirror)
    assert sh(stack, "node --version") == f"v{NEXT_NODE}"

    down = converge_one(stack, "playbooks/socket.yml", tmp_path)  # the inventory's major and mirror
    assert down.returncode == 0, down.output[-3000:]
    assert sh(stack, "node --version") == f"v{site.NODE_VERSION}"
