"""socket_server over SSH, behind the base firewall and Caddy with Pebble certificates:
python-socketio clients play in a space through wss, disallowed origins and bad payloads are
refused, a re-run neither redeploys nor restarts, a broken release is refused while the
running one keeps answering. Drift: tests/test_site.py's catalogue."""

import json
import shutil
import threading
import time

import pytest
import socketio
from role_host import FIREWALL_ONLY, converge_behind_the_edge

from ansible_run import run_playbook
from labkit.clients import edge_client, socket_tokens
from labkit.clients.socketio_client import Player
from labkit.lab import hosts
from support import REPO_ROOT

pytestmark = pytest.mark.integration

PLAYBOOK = "tests/playbooks/socket.yml"
HOST_NAME = "flowspace-pytest-socket"
SSH_PORT = 2341
DOMAIN = "socket.socket.pytest.test"
STACK = {"flowspace_socket_domain": DOMAIN, "flowspace_livekit_domain": "livekit.socket.pytest.test"}
APP_ORIGIN = "https://app.flowspace.test"  # the lab stack's flowspace_app_origin
CURRENT = "/opt/flowspace-socket/current"


class Deployed:
    def __init__(self, host: hosts.Host, inventory, ca_file: str, credentials):
        self.host, self.inventory, self.ca_file, self.credentials = host, inventory, ca_file, credentials
        self.ip = host.ip_address()

    def secret(self) -> str:
        return (self.credentials / "auth_secret").read_text().strip()

    def converge(self, *args: str, extra: dict | None = None, tmp_path=None, playbook: str = PLAYBOOK):
        extra_args = []
        if extra:
            (tmp_path / "extra.json").write_text(json.dumps(extra))
            extra_args = ["-e", f"@{tmp_path / 'extra.json'}"]
        return run_playbook(self.inventory, playbook, "-e", FIREWALL_ONLY, *extra_args, *args)

    def player(self, origin: str | None = APP_ORIGIN, name: str = "Player", spaces="*",
               token: str | None = None) -> Player:
        """A client holding a join token the app would sign (or the given one)."""
        if token is None:
            token = socket_tokens.sign(self.secret(), f"user-{name.lower()}", name, spaces)
        return Player(f"https://{DOMAIN}", self.ip, self.ca_file, origin, token)

    def main_pid(self) -> str:
        return self.host.exec("systemctl", "show", "-P", "MainPID", "flowspace-socket@1").stdout.strip()

    def current(self) -> str:
        return self.host.exec("readlink", CURRENT, check=False).stdout.strip()

    def healthz(self) -> int:
        return edge_client.request(self.ip, DOMAIN, "/healthz", ca_file=self.ca_file, timeout=3).status


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    made = converge_behind_the_edge(tmp_path_factory.mktemp("socket"), HOST_NAME, SSH_PORT, STACK,
                                    "socket_server_credentials_dir", [7880], PLAYBOOK, DOMAIN)
    site = Deployed(made.host, made.inventory, made.ca_file, made.credentials)
    yield site
    hosts.remove(made.host.name)


def test_players_meet_in_a_space_through_caddy(deployed) -> None:
    ada, bob = deployed.player(name="Ada"), deployed.player(name="Bob")
    try:
        assert ada.ask("space:join", {"spaceId": "lobby", "name": "Ada"})["ok"] is True
        joined = bob.ask("space:join", {"spaceId": "lobby", "name": "Bob", "position": {"x": 3, "y": 4}})
        assert sorted(member["name"] for member in joined["members"]) == ["Ada", "Bob"]
        assert ada.next("space:member-joined")["name"] == "Bob"
        assert bob.ask("player:move", {"x": 5, "y": 6}) == {"ok": True}
        assert ada.next_move_of(joined["self"]) == {"id": joined["self"], "x": 5, "y": 6}
        ada.ask("chat:message", {"text": "hi Bob"})
        message = bob.next("chat:message")
        assert (message["name"], message["text"]) == ("Ada", "hi Bob")
        assert abs(message["ts"] / 1000 - time.time()) < 30
    finally:
        ada.close()
        bob.close()


def test_only_tokens_signed_with_the_deployed_key_get_in(deployed) -> None:
    env_file = "/opt/flowspace-socket/shared/flowspace-socket.env"
    env = deployed.host.exec("cat", env_file).stdout
    assert f"AUTH_SECRET={deployed.secret()}" in env and "ALLOW_ANONYMOUS" not in env
    mode = deployed.host.exec("stat", "-c", "%a %U:%G", env_file).stdout
    assert mode.split() == ["640", "root:flowspace-socket"]
    forged = socket_tokens.sign("x" * 48, "user-eve", "Eve")
    for token in ("", forged):
        with pytest.raises(socketio.exceptions.ConnectionError):
            deployed.player(token=token)
    carol = deployed.player(name="Carol", spaces=["lobby"])
    try:
        assert carol.ask("space:join", {"spaceId": "lobby", "name": "Mallory"})["name"] == "Carol"
        assert "forbidden" in carol.ask("space:join", {"spaceId": "attic", "name": "Carol"})["error"]
    finally:
        carol.close()


def test_a_rotated_key_keeps_the_old_one_valid_for_the_grace_period(deployed, tmp_path) -> None:
    old = deployed.secret()
    rotated = deployed.converge(extra={"socket_server_rotate_auth_secret": True}, tmp_path=tmp_path,
                                playbook="playbooks/socket.yml")
    assert rotated.returncode == 0, rotated.output[-3000:]
    assert old not in rotated.output and deployed.secret() not in rotated.output, "a secret was printed"
    new = deployed.secret()
    assert new != old and len(new) >= 32
    env = deployed.host.exec("cat", "/opt/flowspace-socket/shared/flowspace-socket.env").stdout
    assert f"AUTH_SECRET={new}\nAUTH_PREVIOUS_SECRET={old}\nAUTH_PREVIOUS_UNTIL=" in env, env
    until = int(env.split("AUTH_PREVIOUS_UNTIL=")[1].split()[0])
    assert 86400 - 600 < until - time.time() <= 86400, "valid for the grace period"
    for secret in (new, old):
        player = deployed.player(token=socket_tokens.sign(secret, "user-dan", "Dan"))
        player.close()
    again = deployed.converge(playbook="playbooks/socket.yml")
    assert again.changed(deployed.host.name) == [], "the new key is kept, not rotated again"
    assert deployed.secret() == new


def test_other_origins_are_refused_and_bad_payloads_answered(deployed) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        deployed.player(origin="https://evil.example")
    eve = deployed.player()
    try:
        assert eve.ask("space:join", {"spaceId": "../../etc", "name": "Eve"})["ok"] is False
        assert "join a space first" in eve.ask("player:move", {"x": 1, "y": 1})["error"]
        eve.ask("space:join", {"spaceId": "lobby", "name": "Eve"})
        assert "finite" in eve.ask("player:move", {"x": "NaN", "y": 1})["error"]
    finally:
        eve.close()
    assert deployed.healthz() == 200


def test_a_rerun_with_the_same_source_neither_redeploys_nor_restarts(deployed) -> None:
    # The realtime play alone: base and edge re-runs are test_caddy's and molecule's.
    pid, current = deployed.main_pid(), deployed.current()
    again = deployed.converge(playbook="playbooks/socket.yml")
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed(deployed.host.name) == []
    assert (deployed.main_pid(), deployed.current()) == (pid, current)
    check = deployed.converge("--check", "--diff", playbook="playbooks/socket.yml")
    assert check.returncode == 0 and check.changed(deployed.host.name) == []


def test_a_host_with_the_single_unit_of_earlier_versions_moves_to_the_process_units(deployed) -> None:
    """Earlier versions ran one flowspace-socket.service on the socket port; a converge retires it
    before flowspace-socket@1 takes the port."""
    legacy = "/etc/systemd/system/flowspace-socket.service"
    deployed.host.exec("systemctl", "disable", "--now", "flowspace-socket@1")
    template = "/etc/systemd/system/flowspace-socket@.service"
    deployed.host.exec("sh", "-c", f"sed '/instance-%i.env/d' {template} > {legacy}")
    deployed.host.exec("sh", "-c", "echo PORT=3001 >> /opt/flowspace-socket/shared/flowspace-socket.env")
    deployed.host.exec("systemctl", "daemon-reload")
    deployed.host.exec("systemctl", "enable", "--now", "flowspace-socket.service")
    assert deployed.host.exec("systemctl", "is-active", "flowspace-socket.service").stdout.strip() == "active"

    run = deployed.converge(playbook="playbooks/socket.yml")
    assert run.returncode == 0, run.output[-3000:]
    changed = run.changed_names(deployed.host.name)
    expected = {"Stop and disable the single unit of earlier versions",
                "Remove the single unit of earlier versions", "Run the processes now and at boot"}
    assert expected <= changed, changed
    assert deployed.host.exec("test", "-e", legacy, check=False).returncode != 0
    assert deployed.host.exec("systemctl", "is-active", "flowspace-socket@1").stdout.strip() == "active"
    assert deployed.host.exec("systemctl", "is-enabled", "flowspace-socket@1").stdout.strip() == "enabled"
    assert deployed.healthz() == 200
    again = deployed.converge(playbook="playbooks/socket.yml")
    assert again.returncode == 0 and again.changed(deployed.host.name) == [], again.changed_tasks


def test_a_broken_release_is_refused_while_the_running_one_answers(deployed, tmp_path) -> None:
    source = tmp_path / "server"
    shutil.copytree(REPO_ROOT / "server", source, ignore=shutil.ignore_patterns("node_modules", "dist"))
    main = source / "socket-server.ts"
    main.write_text(main.read_text().replace("status: 'ok',", "status: 'broken',"))
    pid, current = deployed.main_pid(), deployed.current()

    answers: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                answers.append(deployed.healthz())
            except OSError:
                answers.append(0)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        broken = {"socket_server_source_dir": str(source), "socket_server_health_timeout": 6}
        run = deployed.converge(extra=broken, tmp_path=tmp_path)
    finally:
        stop.set()
        watcher.join()
    assert run.returncode != 0
    message = " ".join(run.failures[deployed.host.name])
    assert "failed its health gate" in message and "keeps serving" in message, message
    assert (deployed.main_pid(), deployed.current()) == (pid, current)
    assert answers and set(answers) == {200}, f"the running release stopped answering: {answers}"


def test_a_users_own_app_from_outside_the_repository_is_deployed(deployed, tmp_path) -> None:
    """socket_server_source_dir is how a collection user ships their own app: a plain
    JavaScript app (no build script, its own entry point) from a folder outside this checkout
    goes live behind the same gate, then the project's server comes back."""
    source = tmp_path / "own-socket-app"
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "own_socket_app", source)
    assert not source.resolve().is_relative_to(REPO_ROOT)
    try:
        run = deployed.converge(extra={"socket_server_source_dir": str(source)}, tmp_path=tmp_path)
        assert run.returncode == 0, run.output[-3000:]
        health = edge_client.request(deployed.ip, DOMAIN, "/healthz", ca_file=deployed.ca_file, timeout=5)
        assert health.status == 200 and json.loads(health.body)["app"] == "own-socket-app", health.body
        unit = deployed.host.exec("systemctl", "cat", "flowspace-socket@1").stdout
        assert f"ExecStart=/usr/bin/node {CURRENT}/app.js" in unit
        player = Player(f"https://{DOMAIN}", deployed.ip, deployed.ca_file, APP_ORIGIN)
        try:
            assert player.ask("ping", {}) == {"pong": "own-socket-app"}
        finally:
            player.close()
    finally:
        back = deployed.converge(tmp_path=tmp_path)
        assert back.returncode == 0, back.output[-3000:]
    assert json.loads(edge_client.request(deployed.ip, DOMAIN, "/healthz", ca_file=deployed.ca_file,
                                          timeout=5).body)["status"] == "ok"
