"""livekit over SSH on the OCI-like image, behind the base firewall and Caddy with Pebble
certificates: the server API answers a token minted from the deployed key and refuses one
signed with another secret, two participants exchange audio over wss, a re-run changes
nothing (drift: tests/test_site.py's catalogue), keys are kept, and bad input is refused before
the host changes."""

import json

import pytest
from livekit import api
from role_host import FIREWALL_ONLY, converge_behind_the_edge

from ansible_run import STOPS_EARLY, run_playbook
from firewall_rules import iptables_opened
from labkit.clients.livekit_clients import LiveKitClients
from labkit.lab import hosts

pytestmark = pytest.mark.integration

PLAYBOOK = "tests/playbooks/livekit.yml"
HOST_NAME = "flowspace-pytest-livekit"
SSH_PORT = 2351
DOMAIN = "livekit.livekit.pytest.test"
STACK = {"flowspace_socket_domain": "socket.livekit.pytest.test", "flowspace_livekit_domain": DOMAIN}
CONFIG = "/etc/livekit/livekit.yaml"
KEY_FILE = "/etc/livekit/keys.yaml"


class Deployed:
    def __init__(self, host: hosts.Host, inventory, credentials, ca_file: str, first_run):
        self.host, self.inventory, self.credentials, self.ca_file = host, inventory, credentials, ca_file
        self.first_run = first_run
        self.ip = host.ip_address()

    def converge(self, *args: str, playbook: str = PLAYBOOK, env: dict | None = None):
        return run_playbook(self.inventory, playbook, "-e", FIREWALL_ONLY, *args, env=env)

    def keys(self) -> tuple[str, str]:
        return ((self.credentials / "api_key").read_text().strip(),
                (self.credentials / "api_secret").read_text().strip())

    def clients(self) -> LiveKitClients:
        return LiveKitClients(DOMAIN, self.ip, self.ca_file, *self.keys())

    def main_pid(self) -> str:
        return self.host.exec("systemctl", "show", "-P", "MainPID", "livekit").stdout.strip()

    def fingerprint(self) -> str:
        """What bad input must leave alone: config, keys and the running process."""
        files = self.host.exec("sh", "-c", f"sha256sum {CONFIG} {KEY_FILE} 2>&1", check=False).stdout
        return files + self.main_pid()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    made = converge_behind_the_edge(tmp_path_factory.mktemp("livekit"), HOST_NAME, SSH_PORT, STACK,
                                    "livekit_credentials_dir", [3001], PLAYBOOK, DOMAIN)
    site = Deployed(made.host, made.inventory, made.credentials, made.ca_file, made.first)
    yield site
    hosts.remove(made.host.name)


def list_room_names(client: api.LiveKitAPI):
    async def call():
        return sorted(room.name for room in (await client.room.list_rooms(api.ListRoomsRequest())).rooms)
    return call()


def test_rooms_are_created_and_listed_through_caddy(deployed) -> None:
    clients = deployed.clients()
    created = clients.server_api(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="standup")))
    assert created.name == "standup"
    assert "standup" in clients.server_api(list_room_names)


def test_a_token_signed_with_another_secret_is_refused(deployed) -> None:
    with pytest.raises(api.TwirpError) as refused:
        deployed.clients().server_api(list_room_names, secret="x" * 48)
    assert refused.value.status == 401


def test_two_participants_exchange_audio_over_wss(deployed, tmp_path) -> None:
    heard = deployed.clients().exchange_audio("audio-check", tmp_path, seconds=40)
    assert heard["exit"] == 0 and heard["frames"] >= 50, heard
    assert heard["from"] == "speaker"


def test_keys_stay_secret_and_the_host_is_laid_out_as_documented(deployed) -> None:
    key, secret = deployed.keys()
    assert len(secret) >= 32
    assert secret not in deployed.first_run.output
    assert deployed.host.exec("stat", "-c", "%a %U", KEY_FILE).stdout.split() == ["600", "livekit"]
    assert deployed.host.exec("grep", "-c", key, KEY_FILE).stdout.strip() == "1"
    listening = deployed.host.exec("ss", "-Hltn", "sport", "= :7880").stdout.split()
    assert "127.0.0.1:7880" in listening and "*:7880" not in listening
    limit = deployed.host.exec("systemctl", "show", "-P", "LimitNOFILE", "livekit").stdout.strip()
    assert int(limit) >= 500000
    opened = iptables_opened(deployed.host.exec("iptables", "-S", "INPUT").stdout)
    assert {("tcp", 7881, 7881), ("udp", 50000, 60000), ("udp", 3478, 3478)} <= opened


def test_a_rerun_changes_nothing_and_check_mode_agrees(deployed) -> None:
    # The media play alone: base and edge re-runs are test_caddy's and molecule's.
    pid = deployed.main_pid()
    again = deployed.converge(playbook="playbooks/livekit.yml")
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed(deployed.host.name) == []
    assert deployed.main_pid() == pid
    check = deployed.converge("--check", "--diff", playbook="playbooks/livekit.yml")
    assert check.returncode == 0 and check.changed(deployed.host.name) == []


def test_a_controller_without_the_keys_takes_them_back_from_the_host(deployed) -> None:
    keys = deployed.keys()
    for name in ("api_key", "api_secret"):
        (deployed.credentials / name).unlink()
    # "false" from the command line is a string: it must not read as a request to rotate.
    run = deployed.converge("-e", "livekit_rotate_keys=false", playbook="playbooks/livekit.yml")
    assert run.returncode == 0, run.output[-3000:]
    assert deployed.keys() == keys
    assert not [task for task in run.changed(deployed.host.name) if "controller" not in task]


def test_rotation_only_on_the_switch_and_old_tokens_stop_working(deployed) -> None:
    old = deployed.clients()
    rotate = deployed.converge("-e", "livekit_rotate_keys=true", playbook="playbooks/livekit.yml")
    assert rotate.returncode == 0, rotate.output[-3000:]
    assert deployed.keys()[1] != old.secret
    deployed.clients().server_api(list_room_names)
    with pytest.raises(api.TwirpError) as refused:
        old.server_api(list_room_names)
    assert refused.value.status == 401


UNINSTALL = ("systemctl disable --now livekit && systemctl daemon-reload && rm -rf /opt/livekit /etc/livekit"
             " /etc/systemd/system/livekit.service /usr/local/bin/livekit-server && systemctl daemon-reload")
INSTALL_TASKS = ("Install the binary from the controller", "Write livekit.yaml", "Install the systemd unit")


def test_check_mode_on_a_host_without_livekit_reports_the_install_and_changes_nothing(deployed) -> None:
    deployed.host.exec("sh", "-c", UNINSTALL)
    check = deployed.converge("--check", "--diff", playbook="playbooks/livekit.yml")
    assert check.returncode == 0, check.output[-3000:]
    reported = check.changed_names(deployed.host.name)
    assert set(INSTALL_TASKS) <= reported
    assert deployed.host.exec("test", "-e", CONFIG, check=False).returncode != 0, "--check changed the host"
    again = deployed.converge(playbook="playbooks/livekit.yml")
    assert again.returncode == 0, again.output[-3000:]
    deployed.clients().server_api(list_room_names)


BAD_INPUT = {
    "short secret": ({"livekit_api_key": "APIflowspace", "livekit_api_secret": "too-short-secret"},
                     "at least 32 characters"),
    "key without secret": ({"livekit_api_key": "APIflowspace"},
                           "give both livekit_api_key and livekit_api_secret"),
    "UDP range over the TURN port": ({"livekit_rtc_port_range_start": 3000,
                                      "livekit_rtc_port_range_end": 4000}, "overlap"),
    "reversed UDP range": ({"livekit_rtc_port_range_start": 60000, "livekit_rtc_port_range_end": 50000},
                           "below port"),
    "RTC TCP port on the API port": ({"livekit_rtc_tcp_port": 7880}, "overlap"),
    "missing domain": ({"flowspace_livekit_domain": ""}, "must be the LiveKit domain"),
    "misspelt variable": ({"livekit_node_ipp": "10.0.0.1"}, "Unknown livekit variable(s): livekit_node_ipp"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_before_the_host_changes(deployed, tmp_path, case) -> None:
    extra, message = BAD_INPUT[case]
    before = deployed.fingerprint()
    (tmp_path / "bad.json").write_text(json.dumps(extra))
    run = deployed.converge("-e", f"@{tmp_path / 'bad.json'}", playbook="playbooks/livekit.yml",
                            env=STOPS_EARLY)
    assert run.returncode != 0
    assert message in run.output, run.output[-2000:]
    assert run.changed(deployed.host.name) == []
    assert deployed.fingerprint() == before
