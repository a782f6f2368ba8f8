"""Scale-out on Redis (tests/cluster_stack.py): an edge that also runs Redis, two nodes each
with two socket processes and a LiveKit node, converged by site.yml. Players spread over the
processes and hosts yet meet in one space; LiveKit rooms land on both nodes and their
participants hear each other through the one edge; Redis restarts and a node stops without
the spaces breaking; each internal port answers only the hosts that use it.
The node-stopping test runs last: it takes node-b down."""

import contextlib
import json
import threading
import time

import pytest
import socketio
from cluster_stack import CLIENT_SOURCES, HOSTS, address

from labkit.checks import stack_check
from labkit.clients.livekit_clients import LiveKitClients

pytestmark = pytest.mark.integration

# How long players of a stopped node take to be back in their space through the edge, from
# the moment they were dropped: the edge checks every 2 s (2 s to answer), gives a connection
# 2 s, and retries a request on another process for up to 10 s. The figure is printed, not
# asserted (this machine's two cores are shared with the hosts): a player who is not back
# within three times that has not been re-routed at all.
REJOIN_EXPECTED = 10
REJOIN_GIVE_UP = 3 * REJOIN_EXPECTED


def players_in(cluster, space: str, count: int = len(CLIENT_SOURCES)) -> list:
    """`count` players, one per client source, all joined to `space`; each join must list every
    player that joined before it, whichever process each is on."""
    players = []
    try:
        for number in range(count):
            player = cluster.player(f"P{number}", space, CLIENT_SOURCES[number])
            players.append(player)
            joined = player.ask("space:join", {"spaceId": space, "name": f"P{number}"})
            assert joined["ok"] and not joined["partial"], joined
            assert sorted(m["name"] for m in joined["members"]) == sorted(f"P{n}" for n in range(number + 1))
            player.id = joined["self"]
    except BaseException:
        close(players)
        raise
    return players


def close(players: list) -> None:
    for player in players:
        with contextlib.suppress(Exception):  # a player of a stopped node may be gone already
            player.close()


def everyone_sees(players: list, sender, step: str) -> None:
    """`sender` moves and chats; every other player must see both."""
    sender.ask("player:move", {"x": 7, "y": 8})
    sender.ask("chat:message", {"text": f"hello after {step}"})
    for player in players:
        if player is sender:
            continue
        moved = chat = None
        while moved is None or chat is None:
            event, payload = player.next_event(("players:moved", "chat:message"))
            if event == "chat:message" and payload["text"] == f"hello after {step}":
                chat = payload
            elif event == "players:moved":
                moved = next((move for move in payload["moves"] if move["id"] == sender.id), moved)
        assert moved == {"id": sender.id, "x": 7, "y": 8} and chat["id"] == sender.id, step


def connect(host, target: str, port: int) -> bool:
    """Whether a TCP connection from `host` to target:port is accepted within 3 s."""
    opened = host.exec("timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{target}/{port}", check=False)
    return opened.returncode == 0


def test_the_scaled_out_stack_converges_and_users_reach_it(cluster) -> None:
    assert cluster.first.returncode == 0, cluster.first.output[-4000:]
    cluster.wait_for_certificates()
    findings = stack_check.check(cluster.stack())
    assert stack_check.passed(findings), stack_check.report(findings)
    # Every process of every socket host is an upstream of the edge.
    caddyfile = cluster.host("edge").exec("cat", "/etc/caddy/Caddyfile").stdout
    for name in ("node-a", "node-b"):
        for port in (3001, 3002):
            assert f"{address(HOSTS[name][1])}:{port}" in caddyfile, caddyfile
    assert "lb_policy client_ip_hash" in caddyfile


def test_players_spread_over_processes_and_hosts_yet_share_the_space(cluster) -> None:
    players = players_in(cluster, "plaza")
    try:
        per_process = cluster.process_connections()
        used = {process for process, count in per_process.items() if count > 0}
        assert sum(per_process.values()) == len(players), per_process
        assert {process.split(":")[0] for process in used} == {"node-a", "node-b"}, per_process
        assert len(used) >= 3, f"players landed on too few processes: {per_process}"
        everyone_sees(players, players[0], "the first join")
        everyone_sees(players, players[-1], "the last join")
    finally:
        close(players)


def test_livekit_rooms_spread_over_both_nodes_and_participants_hear_each_other(cluster, tmp_path) -> None:
    stack = cluster.stack()
    clients = LiveKitClients(stack.livekit_domain, stack.address, stack.ca_file, stack.livekit_key,
                             stack.livekit_secret)
    from livekit import api  # noqa: PLC0415

    rooms = [f"spread-{number}" for number in range(10)]
    for room in rooms:
        clients.server_api(lambda lk, room=room: lk.room.create_room(api.CreateRoomRequest(name=room)))
    placed = cluster.room_nodes()
    nodes = {placed[room] for room in rooms}
    assert nodes == {"node-a", "node-b"}, placed
    for node in ("node-a", "node-b"):
        room = next(room for room in rooms if placed[room] == node)
        heard = clients.exchange_audio(room, tmp_path)
        assert heard["exit"] == 0 and heard["from"] == "speaker" and heard["frames"] >= 50, (node, heard)


def test_redis_restarts_and_the_spaces_keep_working(cluster) -> None:
    players = players_in(cluster, "through-a-restart", 4)
    try:
        edge = cluster.host("edge")
        edge.exec("systemctl", "stop", "redis-server")
        # Sent while Redis is down, once the processes have seen their connection close: the
        # streams adapter appends it once Redis is back. (A chat written in the instant before a
        # process notices the close goes to the dead socket and is lost; docs/scaling.md.)
        time.sleep(1)
        players[0].ask("chat:message", {"text": "while Redis was down"})
        edge.exec("systemctl", "start", "redis-server")
        back = time.monotonic()
        for player in players[1:]:
            assert player.next("chat:message", timeout=15)["text"] == "while Redis was down"
        assert all(player.connected for player in players), "a Redis restart disconnected players"
        # A join counts the processes listening on Redis; each is back within a second or two.
        while cluster.socket_processes_on_redis() < 4 and time.monotonic() < back + 10:
            time.sleep(0.2)
        print(f"every socket process was back on Redis {time.monotonic() - back:.1f} s after it started")
        assert cluster.socket_processes_on_redis() == 4
        everyone_sees(players, players[1], "the Redis restart")
        late = cluster.player("Late", "through-a-restart", CLIENT_SOURCES[5])
        try:
            joined = late.ask("space:join", {"spaceId": "through-a-restart", "name": "Late"})
            assert not joined["partial"] and len(joined["members"]) == 5, joined
        finally:
            late.close()
    finally:
        close(players)


def test_each_host_monitors_what_it_runs_every_socket_process_included(cluster) -> None:
    node = {("livekit", "127.0.0.1:6789"), ("socket", "127.0.0.1:9464"), ("socket", "127.0.0.1:9465")}
    expected = {"edge": {("caddy", "localhost:2019")}, "node-a": node, "node-b": node}
    for name, services in expected.items():
        host = cluster.host(name)
        deadline = time.monotonic() + 60
        while True:
            fetch = ("import urllib.request; "
                     "print(urllib.request.urlopen('http://127.0.0.1:9090/api/v1/targets').read().decode())")
            answer = json.loads(host.exec("python3", "-c", fetch).stdout)
            targets = {(t["labels"]["job"], t["labels"]["instance"]): t["health"]
                       for t in answer["data"]["activeTargets"]}
            if all(health == "up" for health in targets.values()) or time.monotonic() > deadline:
                break
            time.sleep(2)
        own = {target for target in targets if target[0] not in ("prometheus", "node")}
        assert own == services, (name, targets)
        assert set(targets.values()) == {"up"}, (name, targets)
    watched = cluster.host("edge").exec("cat", "/var/lib/prometheus/node-exporter/flowspace.prom").stdout
    assert 'flowspace_unit_active{unit="redis-server.service",service="redis"} 1' in watched, watched


def test_internal_ports_answer_only_the_hosts_that_use_them(cluster) -> None:
    edge, node_a, node_b, outsider = (cluster.host("edge"), cluster.host("node-a"), cluster.host("node-b"),
                                      cluster.outsider)
    edge_ip, a_ip, b_ip = (address(HOSTS[name][1]) for name in ("edge", "node-a", "node-b"))
    allowed = [(edge, a_ip, 3001), (edge, a_ip, 3002), (edge, b_ip, 3001), (edge, a_ip, 7880),
               (edge, b_ip, 7880), (node_a, edge_ip, 6379), (node_b, edge_ip, 6379)]
    refused = [(outsider, a_ip, 3001), (outsider, a_ip, 7880), (outsider, edge_ip, 6379),
               (node_a, b_ip, 3001), (node_a, b_ip, 7880), (outsider, a_ip, 9464),
               # Metrics: LiveKit's listens on the API's addresses, the firewall keeps it in.
               (outsider, a_ip, 6789), (edge, a_ip, 6789), (outsider, a_ip, 9090), (outsider, edge_ip, 2019)]
    assert [case[1:] for case in allowed if not connect(*case)] == []
    assert [(case[0].name, *case[1:]) for case in refused if connect(*case)] == []
    # Redis wants a user: the default one is off.
    unauthenticated = node_a.exec("python3", "-c", (
        f"import socket; s = socket.create_connection(('{edge_ip}', 6379), 3); s.sendall(b'PING\\r\\n');"
        " print(s.recv(200).decode())"), check=False)
    assert unauthenticated.stdout.startswith("-NOAUTH"), unauthenticated.stdout + unauthenticated.stderr


def test_a_rerun_changes_nothing_and_drift_on_a_node_and_in_redis_is_healed(cluster) -> None:
    again = cluster.converge()
    assert again.returncode == 0, again.output[-4000:]
    assert again.changed_tasks == {}, again.changed_tasks
    node_b = cluster.host("node-b")
    node_b.exec("systemctl", "stop", "flowspace-socket@2")
    node_b.exec("iptables", "-D", "INPUT", "-s", f"{cluster.edge_ip}/32", "-p", "tcp", "-m", "state",
                "--state", "NEW", "-m", "tcp", "--dport", "3001:3002", "-m", "comment", "--comment",
                "Socket.io from the edge", "-j", "ACCEPT")
    edge = cluster.host("edge")
    edge.exec("sed", "-i", "s/^maxmemory .*/maxmemory 1mb/", "/etc/redis/redis.conf")
    report = cluster.drift_report()
    assert report.returncode != 0, report.stdout[-3000:]
    assert node_b.name in report.stdout and edge.name in report.stdout, report.stdout[-3000:]
    healed = cluster.converge()
    assert healed.returncode == 0, healed.output[-4000:]
    changed = healed.changed_names(node_b.name)
    assert "Run the processes now and at boot" in changed, changed
    assert "Load the rules where the live tables drifted from them" in changed, changed
    assert connect(edge, address(HOSTS["node-b"][1]), 3002)
    assert "Write redis.conf" in healed.changed_names(edge.name)
    assert edge.exec("grep", "-c", "^maxmemory 256mb$", "/etc/redis/redis.conf").stdout.strip() == "1"
    assert cluster.socket_processes_on_redis() == 4, "the processes are back on the restarted Redis"


def test_a_stopped_node_sends_its_players_to_the_other_and_nobody_else_drops(cluster) -> None:
    players = players_in(cluster, "node-down")
    rejoined, took = [], []
    try:
        per_process = cluster.process_connections()
        on_b = sum(count for process, count in per_process.items() if process.startswith("node-b"))
        assert 0 < on_b < len(players), per_process
        for player in players:
            player.forget_events()
        # The host shuts down (its services stop, then it is gone) while the players watch.
        stopping = threading.Thread(target=cluster.stop, args=("node-b",))
        stopping.start()
        deadline = time.monotonic() + 60
        while sum(not p.connected for p in players) < on_b and time.monotonic() < deadline:
            time.sleep(0.1)
        dropped_at = time.monotonic()
        dropped = [player for player in players if not player.connected]
        assert len(dropped) == on_b, f"{len(dropped)} players dropped, {on_b} were on node-b"
        # Each dropped player comes back as the app's client does: a new connection, the same
        # join, tried again after a second while the edge has not yet noticed the host is gone.
        for player in dropped:
            number = players.index(player)
            again = _reconnect(cluster, number, dropped_at + REJOIN_GIVE_UP)
            rejoined.append(again)
            answer = again.ask("space:join", {"spaceId": "node-down", "name": f"P{number}"})
            present = len(players) - len(dropped) + len(rejoined)
            assert answer["ok"] and len(answer["members"]) == present, answer
            again.id = answer["self"]
            took.append(round(time.monotonic() - dropped_at, 1))
        print(f"players of the stopped node were back in their space after {took} s"
              f" (expected within {REJOIN_EXPECTED} s)")
        stopping.join(timeout=60)
        stayed = [player for player in players if player not in dropped]
        assert all(player.connected for player in stayed), "players of node-a were disconnected"
        for player in stayed:
            left, joined = set(), set()
            while len(joined) < len(dropped):
                event, payload = player.next_event(("space:member-left", "space:member-joined"))
                (left.add(payload["id"]) if event == "space:member-left" else joined.add(payload["name"]))
            assert left == {p.id for p in dropped} and joined == {f"P{players.index(p)}" for p in dropped}
        everyone_sees(stayed + rejoined, stayed[0], "a node stopped")
    finally:
        close(rejoined + players)


def _reconnect(cluster, number: int, deadline: float):
    while True:
        try:
            return cluster.player(f"P{number}", "node-down", CLIENT_SOURCES[number])
        except socketio.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
