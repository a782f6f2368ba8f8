"""vercel_env's main() against the Vercel API emulator, in this process: what it sends and
reads, what it leaves alone, the errors a user sees, and values never shown."""

import pytest

from ansible_collections.flowspace.infra.plugins.modules import vercel_env
from ansible_collections.flowspace.infra.tests.unit.vercel_cases import VARIABLES

ENV_PATH = "/v10/projects/flowspace/env"


@pytest.fixture
def sync(vercel, run_module):
    """SYNC(variables=VARIABLES, check_mode=False, diff=False, **options): one vercel_env run."""

    def run(variables=None, check_mode=False, diff=False, **options):
        vercel.clear_requests()
        variables = VARIABLES if variables is None else variables
        args = {**vercel.connection(), "variables": list(variables), "fingerprint_key": "unit-key",
                "timeout": 5, "retries": 3, **options}
        return run_module(vercel_env, args, check_mode=check_mode, diff=diff)

    return run


def by_hand(vercel, key, target, type_="plain", value="x"):
    vercel.call("POST", f"/v10/projects/{vercel.project['id']}/env",
                {"key": key, "value": value, "type": type_, "target": target})


def test_a_first_run_creates_in_one_batch_and_a_rerun_reads_once(vercel, sync) -> None:
    first = sync()
    assert first["exit_code"] == 0 and first["changed"] is True, first
    assert sorted(first["created"]) == sorted(v["key"] for v in VARIABLES)
    assert (first["updated"], first["deleted"], first["redeploy_needed"]) == ([], [], True)
    assert [(w["method"], w["path"]) for w in vercel.writes()] == [("POST", ENV_PATH)]
    assert first["requests"] == 2 and first["last_change"]
    stored = vercel.stored()
    secret = stored["LIVEKIT_API_SECRET@preview,production"]
    assert (secret["value"], secret["type"]) == (VARIABLES[2]["value"], "sensitive")
    assert VARIABLES[2]["value"] not in secret["comment"]
    assert stored["LIVEKIT_URL@development,preview,production"]["type"] == "encrypted"

    again = sync()
    assert (again["exit_code"], again["changed"], again["redeploy_needed"]) == (0, False, False)
    assert again["requests"] == 1
    assert vercel.requests() == [{"method": "GET", "path": ENV_PATH, "query": {"decrypt": "true"}}]


def test_a_rotated_sensitive_value_is_seen_through_its_fingerprint(vercel, sync) -> None:
    sync()
    new_secret = {**VARIABLES[2], "value": "another-secret-also-long-enough-98765"}
    rotated = [*VARIABLES[:2], new_secret, VARIABLES[3]]
    run = sync(rotated, diff=True)
    assert (run["updated"], run["redeploy_needed"]) == (["LIVEKIT_API_SECRET"], True)
    assert run["diff"]["after"]["LIVEKIT_API_SECRET"][0]["value"] == "(changed value)"
    assert [(w["method"], w["query"]) for w in vercel.writes()] == [("POST", {"upsert": "true"})]
    assert vercel.stored()["LIVEKIT_API_SECRET@preview,production"]["value"] == rotated[2]["value"]
    assert sync(rotated)["changed"] is False


def test_a_preview_only_change_needs_no_redeploy(vercel, sync) -> None:
    sync()
    run = sync([*VARIABLES[:3], {**VARIABLES[3], "value": "changed-preview-value"}])
    assert (run["updated"], run["redeploy_needed"]) == (["PREVIEW_ONLY"], False)


def test_a_plain_value_changed_by_hand_is_put_back_and_shown_in_the_diff(vercel, sync) -> None:
    sync()
    env_id = vercel.stored()["NEXT_PUBLIC_SOCKET_URL@development,preview,production"]["id"]
    vercel.call("PATCH", f"/v9/projects/{vercel.project['id']}/env/{env_id}", {"value": "https://wrong.test"})
    check = sync(check_mode=True, diff=True)
    assert check["changed"] is True and vercel.writes() == []
    assert check["diff"]["before"]["NEXT_PUBLIC_SOCKET_URL"][0]["value"] == "https://wrong.test"
    assert check["diff"]["after"]["NEXT_PUBLIC_SOCKET_URL"][0]["value"] == "https://socket.example.test"
    healed = sync()
    assert (healed["updated"], healed["redeploy_needed"]) == (["NEXT_PUBLIC_SOCKET_URL"], True)
    assert vercel.stored()["NEXT_PUBLIC_SOCKET_URL@development,preview,production"]["value"] == (
        "https://socket.example.test")


def test_changed_targets_are_edited_in_place(vercel, sync) -> None:
    sync()
    run = sync([*VARIABLES[:3], {**VARIABLES[3], "target": ["preview", "development"]}])
    assert run["updated"] == ["PREVIEW_ONLY"] and run["redeploy_needed"] is False
    assert [w["method"] for w in vercel.writes()] == ["PATCH"]
    assert "PREVIEW_ONLY@development,preview" in vercel.stored()


def test_production_dropped_from_the_targets_needs_a_redeploy(vercel, sync) -> None:
    sync()
    run = sync([*VARIABLES[:2], {**VARIABLES[2], "target": ["preview"]}, VARIABLES[3]])
    assert run["updated"] == ["LIVEKIT_API_SECRET"] and run["redeploy_needed"] is True


def test_prune_deletes_only_what_the_module_manages(vercel, sync) -> None:
    sync()
    by_hand(vercel, "SET_BY_HAND", ["production"])
    run = sync(VARIABLES[:2], prune=True)
    assert run["exit_code"] == 0, run
    assert sorted(run["deleted"]) == ["LIVEKIT_API_SECRET", "PREVIEW_ONLY"] and run["redeploy_needed"] is True
    assert sorted(e.split("@")[0] for e in vercel.stored()) == [
        "LIVEKIT_URL", "NEXT_PUBLIC_SOCKET_URL", "SET_BY_HAND"]
    assert [w["method"] for w in vercel.writes()] == ["DELETE"]


def test_without_prune_nothing_is_deleted(vercel, sync) -> None:
    sync()
    run = sync(VARIABLES[:2])
    assert (run["changed"], run["deleted"]) == (False, [])
    assert len(vercel.stored()) == len(VARIABLES)


def test_absent_removes_only_the_listed_targets(vercel, sync) -> None:
    sync([{"key": "WIDE", "value": "wide-value", "target": ["production", "preview"]}])
    run = sync([{"key": "WIDE", "target": ["production"]}], state="absent")
    assert run["exit_code"] == 0 and run["redeploy_needed"] is True, run
    assert sorted(vercel.stored()) == ["WIDE@preview"]
    assert vercel.stored()["WIDE@preview"]["value"] == "wide-value"
    gone = sync([{"key": "WIDE", "target": ["preview"]}], state="absent")
    assert gone["deleted"] == ["WIDE"] and gone["redeploy_needed"] is False and vercel.stored() == {}
    assert sync([{"key": "WIDE", "target": ["preview"]}], state="absent")["changed"] is False


def test_an_unmanaged_variable_is_a_conflict_unless_adopted(vercel, sync) -> None:
    by_hand(vercel, "LIVEKIT_URL", ["production"])
    overlapping = sync()
    assert overlapping["exit_code"] == 1
    assert "LIVEKIT_URL: Vercel already has it for overlapping targets" in overlapping["msg"]
    assert "not managed by this module" in overlapping["msg"] and vercel.writes() == []
    vercel.call("DELETE", f"/v9/projects/{vercel.project['id']}/env/"
                + vercel.stored()["LIVEKIT_URL@production"]["id"])
    by_hand(vercel, "LIVEKIT_URL", ["development", "preview", "production"], "encrypted")
    same = sync()
    assert same["exit_code"] == 1 and "LIVEKIT_URL: Vercel already has it for the same targets" in same["msg"]
    adopted = sync(adopt=True)
    assert adopted["exit_code"] == 0, adopted
    assert vercel.stored()["LIVEKIT_URL@development,preview,production"]["value"] == "wss://livekit.example.test"
    assert sync()["changed"] is False


def test_a_type_change_whose_create_fails_loses_nothing(vercel, sync) -> None:
    plain = [{"key": "FLAG", "value": "flag-value-1", "type": "plain", "target": ["production"]}]
    sync(plain)
    vercel.control("POST", "faults", {"status": 500, "count": 1, "method": "POST", "path": ENV_PATH})
    run = sync([{**plain[0], "type": "sensitive"}])
    assert run["exit_code"] == 1 and run["changed"] is True
    assert "FLAG: changing its type from plain to sensitive failed" in run["msg"]
    assert "put back as plain with its old value" in run["msg"]
    stored = vercel.stored()["FLAG@production"]
    assert (stored["type"], stored["value"]) == ("plain", "flag-value-1")
    healed = sync([{**plain[0], "type": "sensitive"}])
    assert healed["exit_code"] == 0 and vercel.stored()["FLAG@production"]["type"] == "sensitive"


def test_rate_limits_and_server_errors_are_retried_with_backoff(vercel, sync) -> None:
    vercel.control("POST", "faults", [
        {"status": 429, "count": 1, "retry_after": 7, "path": ENV_PATH, "method": "GET"},
        {"status": 502, "count": 1, "path": ENV_PATH, "method": "GET"},
        {"status": 429, "count": 1, "path": ENV_PATH, "method": "POST"},
    ])
    run = sync()
    assert run["exit_code"] == 0, run
    assert [(r["method"], r.get("fault")) for r in vercel.requests()] == [
        ("GET", 429), ("GET", 502), ("GET", None), ("POST", 429), ("POST", None)]
    assert vercel.clock.slept == [7.0, 1.0, 1.0]
    assert len(vercel.stored()) == len(VARIABLES)


def test_retries_are_bounded(vercel, sync) -> None:
    vercel.control("POST", "faults", {"status": 503, "count": 10, "path": "/v10/"})
    run = sync(retries=2)
    assert run["exit_code"] == 1 and "gave up after 3 attempt(s)" in run["msg"]
    assert len(vercel.requests()) == 3 and vercel.clock.slept == [0.5, 1.0]


@pytest.mark.parametrize("lost", [{"drop": True}, {"status": 502}], ids=["dropped", "5xx"])
def test_a_create_whose_answer_is_lost_is_read_back_not_sent_again(vercel, sync, lost) -> None:
    applied = {"after": True} if "drop" in lost else {}
    vercel.control("POST", "faults", {**lost, **applied, "count": 1, "path": ENV_PATH, "method": "POST"})
    run = sync(timeout=1)
    assert run["exit_code"] == 0 and run["changed"] is True, run
    assert sorted(run["created"]) == sorted(v["key"] for v in VARIABLES)
    methods = [r["method"] for r in vercel.requests()]
    assert methods == (["GET", "POST", "GET"] if applied else ["GET", "POST", "GET", "POST"])
    assert len(vercel.stored()) == len(VARIABLES)


def test_bad_token_unknown_project_and_wrong_url_are_named(vercel, sync) -> None:
    bad_token = sync(token="wrong")
    assert "Vercel refused the token (403 forbidden)" in bad_token["msg"]
    unknown = sync(project="no-such-project")
    assert "Vercel has no project 'no-such-project'" in unknown["msg"]
    wrong_url = sync(api_url=vercel.base_url + "/not-the-api")
    assert "check api_url" in wrong_url["msg"] and "no project" not in wrong_url["msg"]


def test_check_mode_sends_no_write(vercel, sync) -> None:
    run = sync(check_mode=True, diff=True)
    assert run["exit_code"] == 0 and run["changed"] is True
    assert sorted(run["created"]) == sorted(v["key"] for v in VARIABLES)
    assert run["diff"]["before"] == {} and "LIVEKIT_URL" in run["diff"]["after"]
    assert vercel.writes() == [] and vercel.stored() == {}


def test_secret_values_are_hidden_whole_and_plain_ones_shown(vercel, sync) -> None:
    variables = [{"key": "SHORT", "value": "b", "type": "plain"},
                 {"key": "HIDDEN", "value": "hidden-value-123", "type": "encrypted"},
                 {"key": "1BAD", "value": "x"}]
    run = sync(variables)
    assert run["exit_code"] == 1
    assert "'1BAD' is not a valid variable name" in run["msg"]
    assert "hidden-value-123" not in str(run) and "********" not in run["msg"]
    shown = sync(variables[:2], diff=True)
    assert "hidden-value-123" not in str(shown)
    assert shown["diff"]["after"]["SHORT"][0]["value"] == "b"


@pytest.mark.parametrize(("variable", "expected"), [
    ({"key": "1BAD", "value": "bad-name-value"}, "'1BAD' is not a valid variable name"),
    ({"key": "BAD-NAME", "value": "bad-name-value"}, "'BAD-NAME' is not a valid variable name"),
    ({"key": "DEV_SECRET", "value": "dev-secret-value", "type": "sensitive"},
     "sensitive variables cannot target development"),
    ({"key": "NO_VALUE"}, "NO_VALUE: value is required"),
    ({"key": "TWICE", "value": "first-value", "target": ["production"]}, "TWICE: given twice"),
    ({"key": "NO_TARGET", "value": "no-target-value", "target": []}, "NO_TARGET"),
], ids=["digit", "dash", "sensitive-dev", "no-value", "twice", "no-target"])
def test_bad_variables_fail_before_any_request(vercel, sync, variable, expected) -> None:
    run = sync([variable, {"key": "TWICE", "value": "second-value", "target": ["production", "preview"]}])
    assert run["exit_code"] == 1 and expected in run["msg"], run
    assert vercel.requests() == []


def test_the_diff_shows_each_variable_whole(vercel, sync) -> None:
    base = [{"key": "PLAIN", "value": "p-1", "type": "plain", "target": ["production"], "comment": "shown"},
            {"key": "SECRET", "value": "secret-value-1", "target": ["production"]},
            {"key": "GONE", "value": "gone-value", "target": ["production"]}]
    sync(base)
    changed = [{**base[0], "comment": "still shown"}, {**base[1], "value": "secret-value-2"},
               {"key": "BRANCHED", "value": "b-1", "type": "plain", "target": ["preview"],
                "git_branch": "main"}]
    run = sync(changed, check_mode=True, diff=True, prune=True)
    assert run["diff"] == {
        "before": {
            "PLAIN": [{"target": ["production"], "type": "plain", "comment": "shown", "value": "p-1"}],
            "SECRET": [{"target": ["production"], "type": "encrypted", "comment": "", "value": "********"}],
            "GONE": [{"target": ["production"], "type": "encrypted", "comment": "", "value": "********"}]},
        "after": {
            "PLAIN": [{"target": ["production"], "type": "plain", "comment": "still shown", "value": "p-1"}],
            "SECRET": [{"target": ["production"], "type": "encrypted", "comment": "",
                        "value": "(changed value)"}],
            "BRANCHED": [{"target": ["preview"], "type": "plain", "comment": "", "value": "b-1",
                          "gitBranch": "main"}]}}
    assert (sorted(run["created"]), sorted(run["updated"]), run["deleted"]) == (
        ["BRANCHED"], ["PLAIN", "SECRET"], ["GONE"])
    assert vercel.writes() == []


def test_writes_lost_on_every_attempt_end_in_a_bounded_failure_that_lists_them(vercel, sync) -> None:
    vercel.control("POST", "faults", {"status": 502, "count": 10, "path": ENV_PATH, "method": "POST"})
    run = sync(retries=1)
    assert (run["exit_code"], run["status"], run["code"]) == (1, -1, "unsettled")
    assert run["msg"] == ("Vercel API error: HTTP -1 unsettled: the variables kept changing under the "
                          "module after 2 attempt(s)")
    assert run["written"] == [f"POST {ENV_PATH} may have been applied (internal_server_error)"] * 2
    assert run["changed"] is True
    assert [r["method"] for r in vercel.requests()] == ["GET", "POST", "GET", "POST", "GET"]


def test_a_refusal_after_a_lost_write_keeps_the_list_of_what_may_have_been_applied(vercel, sync) -> None:
    vercel.control("POST", "faults", [{"status": 502, "count": 1, "path": ENV_PATH, "method": "POST"},
                                      {"status": 400, "code": "bad_request", "count": 1, "path": ENV_PATH,
                                       "method": "POST"}])
    run = sync()
    assert (run["exit_code"], run["status"], run["code"]) == (1, 400, "bad_request")
    assert run["written"] == [f"POST {ENV_PATH} may have been applied (internal_server_error)"]


def test_each_failure_carries_what_a_play_reads(vercel, sync) -> None:
    refused = sync(token="wrong")
    assert {k: refused[k] for k in ("status", "code", "requests", "exit_code")} == {
        "status": 403, "code": "forbidden", "requests": 1, "exit_code": 1}
    assert refused.get("changed", False) is False
    by_hand(vercel, "LIVEKIT_URL", ["production"])
    conflict = sync()
    assert (conflict["requests"], conflict.get("changed", False)) == (1, False)
    assert "status" not in conflict


def test_a_refused_type_change_says_it_changed_and_how_many_requests(vercel, sync) -> None:
    plain = [{"key": "FLAG", "value": "flag-value-1", "type": "plain", "target": ["production"]}]
    sync(plain)
    vercel.control("POST", "faults", {"status": 500, "count": 1, "method": "POST", "path": ENV_PATH})
    run = sync([{**plain[0], "type": "sensitive"}])
    assert (run["changed"], run["requests"]) == (True, len(vercel.requests()))
