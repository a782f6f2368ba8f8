"""playbooks/vercel.yml against the Vercel API emulator: the app's files, the project's
variables, and a redeploy exactly when a production value changed."""

import json

import pytest

from ansible_collections.flowspace.infra.plugins.filter.dotenv import from_dotenv
from ansible_run import local_inventory, run_playbook
from labkit.clients.vercel_client import EmulatorClient
from labkit.standins import vercel_emulator

TOKEN = "play-test-token"
SECRET = "play-test-livekit-secret-0123456789abcdef"
STACK = {
    "flowspace_socket_domain": "socket.play.test",
    "flowspace_livekit_domain": "livekit.play.test",
    "flowspace_livekit_api_key": "APIplaytest",
    "flowspace_livekit_api_secret": SECRET,
}
NO_STORE = {"key": "Cache-Control", "value": "no-store"}
EXISTING_VERCEL_JSON = {"framework": "nextjs", "headers": [{"source": "/api/(.*)", "headers": [NO_STORE]}]}


@pytest.fixture
def lab(tmp_path):
    server = vercel_emulator.serve(0, [TOKEN])
    api = EmulatorClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    project = api.add_project("flowspace-app")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "vercel.json").write_text(json.dumps(EXISTING_VERCEL_JSON))
    inventory = local_inventory(tmp_path / "hosts.json")

    def play(*args, **overrides):
        extra = {**STACK, "vercel_token": TOKEN, "vercel_api_url": api.base_url,
                 "vercel_project": "flowspace-app", "vercel_app_dir": str(app_dir),
                 "vercel_deploy_poll_interval": 0.1, **overrides}
        (tmp_path / "extra.json").write_text(json.dumps(extra))
        return run_playbook(inventory, "playbooks/vercel.yml", "-e", f"@{tmp_path / 'extra.json'}", *args,
                            timeout=120)

    yield api, project, app_dir, play
    server.shutdown()


def test_the_play_renders_syncs_and_redeploys_once(lab) -> None:
    api, project, app_dir, play = lab
    first = play()
    assert first.returncode == 0, first.output[-3000:]
    assert SECRET not in first.output

    env_file = app_dir / ".env.production"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert from_dotenv(env_file.read_text()) == {
        "NEXT_PUBLIC_SOCKET_URL": "https://socket.play.test",
        "NEXT_PUBLIC_LIVEKIT_URL": "wss://livekit.play.test",
        "LIVEKIT_URL": "wss://livekit.play.test",
        "LIVEKIT_API_KEY": "APIplaytest",
        "LIVEKIT_API_SECRET": SECRET,
    }
    config = json.loads((app_dir / "vercel.json").read_text())
    assert config["framework"] == "nextjs"
    assert config["headers"][0] == EXISTING_VERCEL_JSON["headers"][0]
    csp = config["headers"][1]["headers"][0]
    assert csp == {"key": "Content-Security-Policy", "value": (
        "connect-src 'self' https://socket.play.test wss://socket.play.test "
        "https://livekit.play.test wss://livekit.play.test")}

    stored = {e["key"]: e for e in api.stored_envs(project["id"])}
    assert stored["LIVEKIT_API_SECRET"]["type"] == "sensitive"
    assert stored["LIVEKIT_API_SECRET"]["target"] == ["preview", "production"]
    deployments = api.deployments(project["id"])
    assert len(deployments) == 2, "exactly one redeploy"
    assert deployments[-1]["env"]["NEXT_PUBLIC_LIVEKIT_URL"] == "wss://livekit.play.test"

    api.clear_requests()
    again = play()
    assert again.returncode == 0, again.output[-3000:]
    assert again.unchanged()
    assert len(api.deployments(project["id"])) == 2, "no redeploy when nothing changed"
    # One read of each: the project, its variables, its deployments; nothing read twice.
    assert sorted(r["path"] for r in api.requests()) == [
        "/v10/projects/flowspace-app/env", "/v6/deployments", "/v9/projects/flowspace-app"], api.requests()

    check = play("--check", "--diff")
    assert check.returncode == 0 and check.changed("localhost") == []


def test_a_changed_production_value_reaches_only_the_next_deployment(lab) -> None:
    api, project, _app_dir, play = lab
    assert play().returncode == 0
    moved = play(flowspace_livekit_domain="media.play.test")
    assert moved.returncode == 0, moved.output[-3000:]
    deployments = api.deployments(project["id"])
    assert len(deployments) == 3
    assert deployments[1]["env"]["LIVEKIT_URL"] == "wss://livekit.play.test"
    assert deployments[2]["env"]["LIVEKIT_URL"] == "wss://media.play.test"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"vercel_token": ""}, "needs vercel_project and vercel_token"),
    ({"vercel_api_url": "http://127.0.0.1:9"}, "unreachable"),
    ({"flowspace_livekit_domain": "https://livekit.play.test"}, "must be DNS names"),
    ({"flowspace_livekit_api_secret": "short"}, "at least 32 characters (it is 5)"),
])
def test_bad_settings_fail_with_a_clear_error(lab, overrides, expected) -> None:
    api, project, app_dir, play = lab
    run = play(vercel_retries=0, **overrides)
    assert run.returncode != 0
    assert expected in " ".join(run.failures.get("localhost", [])) + run.output[-2000:]
    assert api.stored_envs(project["id"]) == []
    assert not (app_dir / ".env.production").exists() or overrides.get("vercel_api_url")
