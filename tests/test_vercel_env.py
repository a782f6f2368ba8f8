"""vercel_env and vercel_deploy through ansible-playbook against the Vercel API emulator:
what they send, what they leave alone, and the errors a user sees."""

import json

import pytest

from ansible_run import local_inventory, run_playbook
from labkit import vercel_emulator
from labkit.vercel_client import EmulatorClient

TOKEN = "module-test-token"
PLAYBOOK = "tests/playbooks/vercel_env.yml"
SYNC = "Sync"

VARIABLES = [
    {"key": "NEXT_PUBLIC_SOCKET_URL", "value": "https://socket.example.test", "type": "plain"},
    {"key": "LIVEKIT_URL", "value": "wss://livekit.example.test"},
    {"key": "LIVEKIT_API_SECRET", "value": "a-secret-that-is-long-enough-0123456789",
     "type": "sensitive", "target": ["production", "preview"]},
    {"key": "PREVIEW_ONLY", "value": "preview-only-value", "target": ["preview"]},
]


class Vercel:
    def __init__(self, api: EmulatorClient, project: dict, inventory, tmp_path):
        self.api, self.project, self.inventory, self.tmp_path = api, project, inventory, tmp_path

    def sync(self, variables=VARIABLES, *args, **extra):
        extra_vars = {"vercel_token": TOKEN, "vercel_api_url": self.api.base_url,
                      "vercel_project": self.project["name"], "vercel_variables": variables, **extra}
        extra_file = self.tmp_path / "extra.json"
        extra_file.write_text(json.dumps(extra_vars))
        self.api.clear_requests()
        return run_playbook(self.inventory, PLAYBOOK, "-e", f"@{extra_file}", *args, timeout=120)

    def writes(self) -> list[dict]:
        return [r for r in self.api.requests() if r["method"] != "GET"]

    def stored(self) -> dict[str, dict]:
        return {f"{e['key']}@{','.join(e['target'])}": e for e in self.api.stored_envs(self.project["id"])}


@pytest.fixture
def vercel(tmp_path):
    server = vercel_emulator.serve(0, [TOKEN])
    api = EmulatorClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    yield Vercel(api, api.add_project("flowspace"), local_inventory(tmp_path / "hosts.json"), tmp_path)
    server.shutdown()


def test_first_run_creates_then_a_rerun_reads_once_and_writes_nothing(vercel) -> None:
    first = vercel.sync()
    assert first.returncode == 0, first.output[-2000:]
    result = first.result(SYNC)
    assert sorted(result["created"]) == sorted(v["key"] for v in VARIABLES)
    assert result["redeploy_needed"] is True
    assert [(w["method"], w["path"]) for w in vercel.writes()] == [
        ("POST", f"/v10/projects/{vercel.project['name']}/env")], "one batched create"
    stored = vercel.stored()
    assert stored["LIVEKIT_API_SECRET@preview,production"]["value"] == VARIABLES[2]["value"]
    assert VARIABLES[2]["value"] not in stored["LIVEKIT_API_SECRET@preview,production"]["comment"]

    again = vercel.sync()
    assert again.returncode == 0, again.output[-2000:]
    assert again.changed("localhost") == []
    assert vercel.api.requests() == [{"method": "GET", "path": f"/v10/projects/{vercel.project['name']}/env",
                                      "query": {"decrypt": "true"}}]
    assert again.result(SYNC)["redeploy_needed"] is False


def test_values_are_never_printed(vercel) -> None:
    run = vercel.sync((*VARIABLES[:2], {**VARIABLES[2]}), "-v", "--diff")
    assert run.returncode == 0
    assert VARIABLES[2]["value"] not in run.output
    assert "a-secret" not in run.output


def test_a_changed_sensitive_value_is_seen_through_its_fingerprint(vercel) -> None:
    vercel.sync()
    new_secret = {**VARIABLES[2], "value": "another-secret-also-long-enough-98765"}
    rotated = [*VARIABLES[:2], new_secret, VARIABLES[3]]
    run = vercel.sync(rotated, "--diff")
    result = run.result(SYNC)
    assert (result["updated"], result["redeploy_needed"]) == (["LIVEKIT_API_SECRET"], True)
    assert result["diff"]["after"]["LIVEKIT_API_SECRET"][0]["value"] == "(changed value)"
    assert [(w["method"], w["query"]) for w in vercel.writes()] == [("POST", {"upsert": "true"})]
    assert vercel.stored()["LIVEKIT_API_SECRET@preview,production"]["value"] == rotated[2]["value"]
    assert vercel.sync(rotated).changed("localhost") == []


def test_a_preview_only_change_needs_no_redeploy(vercel) -> None:
    vercel.sync()
    run = vercel.sync([*VARIABLES[:3], {**VARIABLES[3], "value": "changed-preview-value"}])
    assert run.result(SYNC)["updated"] == ["PREVIEW_ONLY"]
    assert run.result(SYNC)["redeploy_needed"] is False


def test_changed_targets_are_edited_in_place(vercel) -> None:
    vercel.sync()
    run = vercel.sync([*VARIABLES[:3], {**VARIABLES[3], "target": ["preview", "development"]}])
    assert run.result(SYNC)["updated"] == ["PREVIEW_ONLY"]
    assert [w["method"] for w in vercel.writes()] == ["PATCH"]
    assert "PREVIEW_ONLY@development,preview" in vercel.stored()


def test_prune_deletes_only_what_the_module_manages(vercel) -> None:
    vercel.sync()
    vercel.api.call("POST", f"/v10/projects/{vercel.project['id']}/env",
                    {"key": "SET_BY_HAND", "value": "x", "type": "plain", "target": ["production"]})
    run = vercel.sync(VARIABLES[:2], vercel_prune=True)
    assert run.returncode == 0, run.output[-2000:]
    assert sorted(run.result(SYNC)["deleted"]) == ["LIVEKIT_API_SECRET", "PREVIEW_ONLY"]
    assert sorted(e.split("@")[0] for e in vercel.stored()) == ["LIVEKIT_URL", "NEXT_PUBLIC_SOCKET_URL",
                                                                  "SET_BY_HAND"]
    assert [w["method"] for w in vercel.writes()] == ["DELETE"], "one batch delete"


def test_state_absent_deletes_the_listed_keys(vercel) -> None:
    vercel.sync()
    run = vercel.sync([{"key": "PREVIEW_ONLY", "target": ["preview"]}], vercel_state="absent")
    assert run.result(SYNC)["deleted"] == ["PREVIEW_ONLY"]
    assert "PREVIEW_ONLY@preview" not in vercel.stored()


def test_an_unmanaged_variable_on_overlapping_targets_is_a_clear_conflict(vercel) -> None:
    vercel.api.call("POST", f"/v10/projects/{vercel.project['id']}/env",
                    {"key": "LIVEKIT_URL", "value": "x", "type": "plain", "target": ["production"]})
    run = vercel.sync()
    assert run.returncode != 0
    message = " ".join(run.failures["localhost"])
    assert "LIVEKIT_URL: Vercel already has it for overlapping targets" in message
    assert "not managed by this module" in message
    assert vercel.writes() == []


def test_rate_limits_server_errors_and_timeouts_are_retried(vercel) -> None:
    path = f"/v10/projects/{vercel.project['name']}/env"
    vercel.api.control("POST", "faults", [
        {"status": 429, "count": 1, "retry_after": 1, "path": path, "method": "GET"},
        {"status": 502, "count": 1, "path": path, "method": "GET"},
        {"delay": 3, "count": 1, "path": path, "method": "POST"},
    ])
    run = vercel.sync(vercel_timeout=1)
    assert run.returncode == 0, run.output[-2000:]
    methods = [(r["method"], r.get("fault")) for r in vercel.api.requests()]
    assert methods == [("GET", 429), ("GET", 502), ("GET", None), ("POST", "delay"), ("POST", None)]
    assert len(vercel.stored()) == len(VARIABLES)


def test_retries_are_bounded(vercel) -> None:
    vercel.api.control("POST", "faults", {"status": 503, "count": 10, "path": "/v10/"})
    run = vercel.sync(vercel_retries=2)
    assert run.returncode != 0
    assert "gave up after 3 attempt(s)" in " ".join(run.failures["localhost"])
    assert len(vercel.api.requests()) == 3


def test_bad_token_and_unknown_project_get_clear_errors(vercel) -> None:
    bad_token = vercel.sync(vercel_token="wrong")
    assert "Vercel refused the token (403 forbidden)" in " ".join(bad_token.failures["localhost"])
    unknown = vercel.sync(vercel_project="no-such-project")
    assert "Vercel has no project 'no-such-project'" in " ".join(unknown.failures["localhost"])


def test_check_mode_sends_no_write(vercel) -> None:
    run = vercel.sync(VARIABLES, "--check", "--diff")
    assert run.returncode == 0
    assert run.changed("localhost") == ["Sync"]
    assert vercel.writes() == [] and vercel.stored() == {}


@pytest.mark.parametrize(("variable", "expected"), [
    ({"key": "1BAD", "value": "bad-name-value"}, "'1BAD' is not a valid variable name"),
    ({"key": "BAD-NAME", "value": "bad-name-value"}, "'BAD-NAME' is not a valid variable name"),
    ({"key": "DEV_SECRET", "value": "dev-secret-value", "type": "sensitive"},
     "sensitive variables cannot target development"),
    ({"key": "NO_VALUE"}, "NO_VALUE: value is required"),
    ({"key": "TWICE", "value": "first-value", "target": ["production"]}, "TWICE: given twice"),
])
def test_bad_variables_fail_before_any_request(vercel, variable, expected) -> None:
    variables = [variable, {"key": "TWICE", "value": "second-value", "target": ["production", "preview"]}]
    run = vercel.sync(variables)
    assert run.returncode != 0
    assert expected in " ".join(run.failures["localhost"])
    assert vercel.api.requests() == []


def test_redeploy_builds_with_the_new_values(vercel) -> None:
    run = vercel.sync(vercel_redeploy=True)
    assert run.returncode == 0, run.output[-2000:]
    deployment = run.result("Redeploy")["deployment"]
    assert deployment["readyState"] == "READY"
    snapshots = {d["uid"]: d["env"] for d in vercel.api.deployments(vercel.project["id"])}
    assert snapshots[deployment["id"]]["LIVEKIT_URL"] == "wss://livekit.example.test"
    assert "PREVIEW_ONLY" not in snapshots[deployment["id"]]


def test_a_failed_build_fails_the_redeploy(vercel) -> None:
    vercel.api.control("POST", "settings", {"build_outcome": "ERROR"})
    run = vercel.sync(vercel_redeploy=True)
    assert run.returncode != 0
    assert "ended ERROR" in " ".join(run.failures["localhost"])
