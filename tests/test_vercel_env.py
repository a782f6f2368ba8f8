"""vercel_env and vercel_deploy through ansible-playbook against the Vercel API emulator:
what they send, what they leave alone, and the errors a user sees."""

import json
import threading
import time

import pytest

from ansible_collections.flowspace.infra.tests.unit.vercel_cases import VARIABLES
from ansible_run import local_inventory, run_playbook
from labkit.clients.vercel_client import EmulatorClient
from labkit.standins import vercel_emulator

TOKEN = "module-test-token"
PLAYBOOK = "tests/playbooks/vercel_env.yml"
SYNC = "Sync"


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
    assert again.unchanged()
    assert vercel.api.requests() == [{"method": "GET", "path": f"/v10/projects/{vercel.project['name']}/env",
                                      "query": {"decrypt": "true"}}]
    assert again.result(SYNC)["redeploy_needed"] is False


def test_values_are_never_printed(vercel) -> None:
    run = vercel.sync((*VARIABLES[:2], {**VARIABLES[2]}), "-v", "--diff")
    assert run.returncode == 0
    assert VARIABLES[2]["value"] not in run.output
    assert "a-secret" not in run.output


def test_a_changed_sensitive_value_is_seen_through_its_fingerprint(vercel) -> None:
    vercel.sync().succeeded()
    new_secret = {**VARIABLES[2], "value": "another-secret-also-long-enough-98765"}
    rotated = [*VARIABLES[:2], new_secret, VARIABLES[3]]
    run = vercel.sync(rotated, "--diff")
    result = run.result(SYNC)
    assert (result["updated"], result["redeploy_needed"]) == (["LIVEKIT_API_SECRET"], True)
    assert result["diff"]["after"]["LIVEKIT_API_SECRET"][0]["value"] == "(changed value)"
    assert [(w["method"], w["query"]) for w in vercel.writes()] == [("POST", {"upsert": "true"})]
    assert vercel.stored()["LIVEKIT_API_SECRET@preview,production"]["value"] == rotated[2]["value"]
    assert vercel.sync(rotated).unchanged()


def test_a_preview_only_change_needs_no_redeploy(vercel) -> None:
    vercel.sync().succeeded()
    run = vercel.sync([*VARIABLES[:3], {**VARIABLES[3], "value": "changed-preview-value"}])
    assert run.result(SYNC)["updated"] == ["PREVIEW_ONLY"]
    assert run.result(SYNC)["redeploy_needed"] is False


def test_changed_targets_are_edited_in_place(vercel) -> None:
    vercel.sync().succeeded()
    run = vercel.sync([*VARIABLES[:3], {**VARIABLES[3], "target": ["preview", "development"]}])
    assert run.result(SYNC)["updated"] == ["PREVIEW_ONLY"]
    assert [w["method"] for w in vercel.writes()] == ["PATCH"]
    assert "PREVIEW_ONLY@development,preview" in vercel.stored()


def test_prune_deletes_only_what_the_module_manages(vercel) -> None:
    vercel.sync().succeeded()
    vercel.api.call("POST", f"/v10/projects/{vercel.project['id']}/env",
                    {"key": "SET_BY_HAND", "value": "x", "type": "plain", "target": ["production"]})
    run = vercel.sync(VARIABLES[:2], vercel_prune=True)
    assert run.returncode == 0, run.output[-2000:]
    assert sorted(run.result(SYNC)["deleted"]) == ["LIVEKIT_API_SECRET", "PREVIEW_ONLY"]
    assert sorted(e.split("@")[0] for e in vercel.stored()) == ["LIVEKIT_URL", "NEXT_PUBLIC_SOCKET_URL",
                                                                  "SET_BY_HAND"]
    assert [w["method"] for w in vercel.writes()] == ["DELETE"], "one batch delete"


def test_state_absent_deletes_the_listed_keys(vercel) -> None:
    vercel.sync().succeeded()
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
        {"status": 429, "count": 1, "retry_after": 1, "path": path, "method": "POST"},
    ])
    run = vercel.sync(vercel_timeout=1)
    assert run.returncode == 0, run.output[-2000:]
    methods = [(r["method"], r.get("fault")) for r in vercel.api.requests()]
    assert methods == [("GET", 429), ("GET", 502), ("GET", None), ("POST", 429), ("POST", None)]
    assert len(vercel.stored()) == len(VARIABLES)


@pytest.mark.parametrize("lost", [{"delay": 3}, {"drop": True}, {"status": 502}],
                         ids=["late", "dropped", "5xx"])
def test_a_create_whose_answer_is_lost_is_read_back_not_sent_again(vercel, lost) -> None:
    path = f"/v10/projects/{vercel.project['name']}/env"
    applied = {"after": True} if "status" not in lost else {}
    vercel.api.control("POST", "faults", {**lost, **applied, "count": 1, "path": path, "method": "POST"})
    run = vercel.sync(vercel_timeout=1)
    assert run.returncode == 0, run.output[-2000:]
    assert run.changed("localhost") == [SYNC]
    assert sorted(run.result(SYNC)["created"]) == sorted(v["key"] for v in VARIABLES)
    methods = [r["method"] for r in vercel.api.requests()]
    # Applied before its answer was lost: one POST, then a read that finds the variables there.
    # Refused with a 5xx (nothing applied): read, then the create again.
    assert methods == (["GET", "POST", "GET"] if applied else ["GET", "POST", "GET", "POST"])
    assert len(vercel.stored()) == len(VARIABLES)
    assert vercel.sync().unchanged()


def in_flight(vercel, method: str, action) -> threading.Thread:
    """Run action (on the emulator's control side) as soon as the module's first `method` request
    arrives; the test delays that request so the action lands while it is in flight."""
    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(r["method"] == method for r in vercel.api.requests()):
                action()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_refused_batch_names_each_key_and_its_reason(vercel) -> None:
    path = f"/v10/projects/{vercel.project['name']}/env"
    vercel.api.control("POST", "faults", {"delay": 1.5, "count": 1, "path": path, "method": "POST"})
    # Someone else creates LIVEKIT_URL while the module's create is on its way.
    watcher = in_flight(vercel, "POST", lambda: vercel.api.call(
        "POST", f"/v10/projects/{vercel.project['id']}/env",
        {"key": "LIVEKIT_URL", "value": "x", "type": "plain", "target": ["production"]}))
    run = vercel.sync(vercel_timeout=10)
    watcher.join()
    assert run.returncode != 0
    message = " ".join(run.failures["localhost"])
    assert "Vercel refused some variables: LIVEKIT_URL: ENV_CONFLICT" in message
    result = run.result(SYNC)
    assert result["changed"] is True, "the other three were created"
    assert result["written"] == ["created 3 variable(s)"]


def test_a_whole_batch_refused_by_vercel_shows_vercels_reasons(vercel) -> None:
    path = f"/v10/projects/{vercel.project['name']}/env"
    vercel.api.control("POST", "faults", {"delay": 1.5, "count": 1, "path": path, "method": "POST"})
    only = [{"key": "ONLY_ONE", "value": "value-one", "target": ["production"]}]
    watcher = in_flight(vercel, "POST", lambda: vercel.api.call(
        "POST", f"/v10/projects/{vercel.project['id']}/env",
        {"key": "ONLY_ONE", "value": "x", "type": "plain", "target": ["production"]}))
    run = vercel.sync(only, vercel_timeout=10)
    watcher.join()
    message = " ".join(run.failures["localhost"])
    assert "ONLY_ONE: ENV_CONFLICT A variable with the name `ONLY_ONE` already exists" in message
    assert "No environment variables were created" not in message.split("ONLY_ONE")[0]


def test_a_variable_deleted_while_its_edit_is_in_flight_is_re_planned(vercel) -> None:
    vercel.sync().succeeded()
    moved = [*VARIABLES[:3], {**VARIABLES[3], "target": ["preview", "development"]}]
    env_id = vercel.stored()["PREVIEW_ONLY@preview"]["id"]
    vercel.api.control("POST", "faults", {"delay": 1.5, "count": 1, "method": "PATCH",
                                          "path": f"/v9/projects/{vercel.project['name']}/env/"})
    watcher = in_flight(vercel, "PATCH", lambda: vercel.api.call(
        "DELETE", f"/v9/projects/{vercel.project['id']}/env/{env_id}"))
    run = vercel.sync(moved, vercel_timeout=10)
    watcher.join()
    assert run.returncode == 0, run.output[-2000:]
    assert [r["method"] for r in vercel.api.requests()] == ["GET", "PATCH", "DELETE", "GET", "POST"]
    assert "PREVIEW_ONLY@development,preview" in vercel.stored()


def test_prune_removes_the_old_variable_when_a_keys_targets_move(vercel) -> None:
    vercel.sync([{"key": "RETARGET", "value": "retarget-value", "target": ["development"]}]).succeeded()
    run = vercel.sync([{"key": "RETARGET", "value": "retarget-value", "target": ["production"]}],
                      vercel_prune=True)
    assert run.returncode == 0, run.output[-2000:]
    assert sorted(vercel.stored()) == ["RETARGET@production"]


def test_absent_removes_only_the_listed_targets(vercel) -> None:
    vercel.sync([{"key": "WIDE", "value": "wide-value", "target": ["production", "preview"]}]).succeeded()
    run = vercel.sync([{"key": "WIDE", "target": ["production"]}], vercel_state="absent")
    assert run.returncode == 0, run.output[-2000:]
    assert sorted(vercel.stored()) == ["WIDE@preview"]
    assert vercel.stored()["WIDE@preview"]["value"] == "wide-value"
    assert run.result(SYNC)["redeploy_needed"] is True


def test_an_unmanaged_variable_on_the_same_targets_is_taken_over_only_with_adopt(vercel) -> None:
    vercel.api.call("POST", f"/v10/projects/{vercel.project['id']}/env",
                    {"key": "LIVEKIT_URL", "value": "x", "type": "encrypted",
                     "target": ["development", "preview", "production"]})
    refused = vercel.sync()
    assert refused.returncode != 0
    message = " ".join(refused.failures["localhost"])
    assert "LIVEKIT_URL: Vercel already has it for the same targets" in message
    assert vercel.writes() == []
    adopted = vercel.sync(vercel_adopt=True)
    assert adopted.returncode == 0, adopted.output[-2000:]
    assert vercel.stored()["LIVEKIT_URL@development,preview,production"]["value"] == "wss://livekit.example.test"


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


def test_bad_variables_fail_before_any_request(vercel) -> None:
    """Through a play, every refusal at once and no request sent (each kind of bad variable is
    a case of the module's unit tests)."""
    variables = [{"key": "1BAD", "value": "bad-name-value"},
                 {"key": "DEV_SECRET", "value": "dev-secret-value", "type": "sensitive"},
                 {"key": "TWICE", "value": "first-value", "target": ["production"]},
                 {"key": "TWICE", "value": "second-value", "target": ["production", "preview"]}]
    run = vercel.sync(variables)
    assert run.returncode != 0
    said = " ".join(run.failures["localhost"])
    for expected in ("'1BAD' is not a valid variable name", "sensitive variables cannot target development",
                     "TWICE: given twice"):
        assert expected in said, said
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


def production_deployments(vercel) -> list[str]:
    return [d["state"] for d in vercel.api.deployments(vercel.project["id"]) if d["target"] == "production"]


def test_a_failed_redeploy_is_made_up_by_the_next_run(vercel) -> None:
    vercel.api.control("POST", "settings", {"build_outcome": "ERROR"})
    assert vercel.sync(vercel_redeploy=True).returncode != 0
    vercel.api.control("POST", "settings", {"build_outcome": "READY"})
    healed = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert healed.returncode == 0, healed.output[-2000:]
    assert healed.changed("localhost") == ["Redeploy"], "variables already right; the deployment is not"
    assert "predates the last change" in healed.result("Redeploy")["stale"]
    assert production_deployments(vercel) == ["READY", "ERROR", "READY"]
    again = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert again.unchanged() and again.result("Redeploy")["stale"] is None
    assert len(production_deployments(vercel)) == 3


def test_a_redeploy_missed_by_a_run_that_died_is_due_on_the_next(vercel) -> None:
    assert vercel.sync().returncode == 0  # variables written, the run ends before any redeploy
    check = vercel.sync(VARIABLES, "--check", vercel_redeploy=True, vercel_only_if_stale=True)
    assert check.changed("localhost") == ["Redeploy"] and len(production_deployments(vercel)) == 1
    healed = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert healed.changed("localhost") == ["Redeploy"]
    snapshot = vercel.api.deployments(vercel.project["id"])[-1]["env"]
    assert snapshot["LIVEKIT_URL"] == "wss://livekit.example.test"


def test_a_redeploy_whose_answer_is_lost_is_not_started_twice(vercel) -> None:
    vercel.sync().succeeded()
    vercel.api.control("POST", "faults", {"after": True, "drop": True, "count": 1, "method": "POST",
                                          "path": "/v13/deployments"})
    lost = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert lost.returncode != 0
    assert "Vercel may have started it, so it was not sent again" in " ".join(lost.failures["localhost"])
    assert len(production_deployments(vercel)) == 2
    rerun = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert rerun.returncode == 0, rerun.output[-2000:]
    assert rerun.unchanged(), "it waited for the deployment already started"
    assert production_deployments(vercel) == ["READY", "READY"]


def test_a_deployment_still_building_after_the_change_is_waited_for_not_crashed_on(vercel) -> None:
    # A push to the app started a production build after the variables changed: the newest
    # deployment is QUEUED when the play asks whether production is stale.
    assert vercel.sync().returncode == 0
    vercel.api.control("POST", "hooks", {"project_id": vercel.project["id"], "hook_id": "push"})
    vercel.api.call("POST", f"/v1/integrations/deploy/{vercel.project['id']}/push", token=None)
    assert production_deployments(vercel) == ["READY", "QUEUED"]
    run = vercel.sync(vercel_redeploy=True, vercel_only_if_stale=True)
    assert run.returncode == 0, run.output[-2000:]
    assert run.unchanged() and run.result("Redeploy")["stale"] is None
    assert production_deployments(vercel) == ["READY", "READY"], "waited for the push's build, started none"


def test_a_failed_build_after_a_removal_is_made_up_by_later_runs(vercel) -> None:
    extra = {"key": "OLD_FLAG", "value": "old-flag-value", "target": ["production"]}
    assert vercel.sync([*VARIABLES, extra], vercel_redeploy=True).returncode == 0
    vercel.api.control("POST", "settings", {"build_outcome": "ERROR"})
    removed = vercel.sync(VARIABLES, vercel_redeploy=True, vercel_prune=True)
    assert removed.returncode != 0 and removed.result(SYNC)["deleted"] == ["OLD_FLAG"]
    vercel.api.control("POST", "settings", {"build_outcome": "READY"})
    # Nothing left to change in the variables, and no timestamp records the removal.
    healed = vercel.sync(VARIABLES, vercel_redeploy=True, vercel_only_if_stale=True)
    assert healed.returncode == 0, healed.output[-2000:]
    assert healed.changed("localhost") == ["Redeploy"]
    assert "ended ERROR" in healed.result("Redeploy")["stale"]
    assert "OLD_FLAG" not in vercel.api.deployments(vercel.project["id"])[-1]["env"]
    again = vercel.sync(VARIABLES, vercel_redeploy=True, vercel_only_if_stale=True)
    assert again.unchanged() and again.result("Redeploy")["stale"] is None


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 400, "code": "bad_request"}],
                         ids=["500", "400"])
def test_a_type_change_whose_create_fails_loses_nothing(vercel, fault) -> None:
    plain = [{"key": "FLAG", "value": "flag-value-1", "type": "plain", "target": ["production"]}]
    assert vercel.sync(plain).returncode == 0
    vercel.api.control("POST", "faults", {**fault, "count": 1, "method": "POST",
                                          "path": f"/v10/projects/{vercel.project['name']}/env"})
    run = vercel.sync([{**plain[0], "type": "sensitive"}])
    assert run.returncode != 0
    message = " ".join(run.failures["localhost"])
    assert "FLAG: changing its type from plain to sensitive failed" in message
    assert "put back as plain with its old value" in message
    stored = vercel.stored()["FLAG@production"]
    assert (stored["type"], stored["value"]) == ("plain", "flag-value-1")
    healed = vercel.sync([{**plain[0], "type": "sensitive"}])
    assert healed.returncode == 0, healed.output[-2000:]
    assert vercel.stored()["FLAG@production"]["type"] == "sensitive"


def test_a_url_that_is_no_vercel_api_is_named_as_such(vercel) -> None:
    run = vercel.sync(vercel_api_url=vercel.api.base_url + "/not-the-api")
    message = " ".join(run.failures["localhost"])
    assert run.returncode != 0 and "check api_url" in message and "no project" not in message


def test_plain_values_are_shown_and_secret_ones_hidden_whole(vercel) -> None:
    variables = [{"key": "SHORT", "value": "b", "type": "plain"},
                 {"key": "HIDDEN", "value": "hidden-value-123", "type": "encrypted"},
                 {"key": "1BAD", "value": "x"}]
    run = vercel.sync(variables, "-vvv")
    assert run.returncode != 0
    assert "hidden-value-123" not in run.output
    assert "'1BAD' is not a valid variable name" in run.output, "text around a short value intact"
    assert "********" not in run.output.replace("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "")
