"""vercel_deploy's and vercel_project_info's main() against the Vercel API emulator, in this
process: a redeploy built with the new values, waiting, staleness, a lost answer, deploy
hooks, check mode, and the errors a user sees."""

import re

import pytest

from ansible_collections.flowspace.infra.plugins.modules import vercel_deploy, vercel_env, vercel_project_info

VARIABLES = [{"key": "LIVEKIT_URL", "value": "wss://livekit.example.test", "target": ["production"]},
             {"key": "PREVIEW_ONLY", "value": "preview-value", "target": ["preview"]}]


@pytest.fixture
def deploy(vercel, run_module):
    """DEPLOY(check_mode=False, **options): one vercel_deploy run."""

    def run(check_mode=False, **options):
        vercel.clear_requests()
        args = {**vercel.connection(), "poll_interval": 1, "wait_timeout": 30, "timeout": 5, **options}
        return run_module(vercel_deploy, args, check_mode=check_mode)

    return run


@pytest.fixture
def synced(vercel, run_module):
    def run(variables=None, **options):
        variables = VARIABLES if variables is None else variables
        args = {**vercel.connection(), "variables": variables, "fingerprint_key": "unit-key", **options}
        result = run_module(vercel_env, args)
        assert result["exit_code"] == 0, result
        return result

    return run


def test_a_redeploy_builds_with_the_new_values(vercel, synced, deploy) -> None:
    synced()
    run = deploy()
    assert run["exit_code"] == 0 and run["changed"] is True, run
    deployment = run["deployment"]
    assert deployment["readyState"] == "READY"
    snapshot = {d["uid"]: d["env"] for d in vercel.deployments(vercel.project["id"])}[deployment["id"]]
    assert snapshot["LIVEKIT_URL"] == "wss://livekit.example.test" and "PREVIEW_ONLY" not in snapshot
    assert [w["path"] for w in vercel.writes()] == ["/v13/deployments"]
    assert vercel.production_deployments() == ["READY", "READY"]


def test_without_wait_the_deployment_is_not_followed(vercel, synced, deploy) -> None:
    synced()
    run = deploy(wait=False)
    assert run["exit_code"] == 0 and run["deployment"]["readyState"] in ("QUEUED", "BUILDING", "INITIALIZING")


def test_a_failed_build_fails_the_redeploy(vercel, synced, deploy) -> None:
    synced()
    vercel.control("POST", "settings", {"build_outcome": "ERROR"})
    run = deploy()
    assert run["exit_code"] == 1 and "ended ERROR" in run["msg"]
    assert run["deployment"]["readyState"] == "ERROR" and run["deployment"]["id"].startswith("dpl_")


def test_a_build_that_outlasts_the_wait_is_named(vercel, synced, deploy) -> None:
    synced()
    run = deploy(wait_timeout=0)
    assert run["exit_code"] == 1, run
    assert re.search(r"deployment dpl_\w+ is still (QUEUED|BUILDING) after 0s", run["msg"]), run["msg"]
    assert run["deployment"]["readyState"] in ("QUEUED", "BUILDING")


def test_staleness_drives_only_if_stale(vercel, synced, deploy) -> None:
    synced()
    check = deploy(check_mode=True, only_if_stale=True)
    assert check["changed"] is True and "predates the last change" in check["stale"]
    assert vercel.writes() == []
    made_up = deploy(only_if_stale=True)
    assert made_up["changed"] is True and made_up["deployment"]["readyState"] == "READY"
    current = deploy(only_if_stale=True)
    assert (current["changed"], current["stale"]) == (False, None)
    assert vercel.writes() == []
    preview_only = synced([VARIABLES[0], {**VARIABLES[1], "value": "new-preview-value"}])
    assert preview_only["redeploy_needed"] is False
    assert deploy(only_if_stale=True)["changed"] is False


def test_a_failed_redeploy_is_made_up_by_the_next_run(vercel, synced, deploy) -> None:
    synced()
    vercel.control("POST", "settings", {"build_outcome": "ERROR"})
    assert deploy()["exit_code"] == 1
    vercel.control("POST", "settings", {"build_outcome": "READY"})
    healed = deploy(only_if_stale=True)
    assert healed["changed"] is True and healed["exit_code"] == 0, healed
    assert vercel.production_deployments() == ["READY", "ERROR", "READY"]


def test_a_redeploy_whose_answer_is_lost_is_not_started_twice(vercel, synced, deploy) -> None:
    synced()
    vercel.control("POST", "faults", {"after": True, "drop": True, "count": 1, "method": "POST",
                                      "path": "/v13/deployments"})
    lost = deploy(only_if_stale=True)
    assert lost["exit_code"] == 1 and lost["changed"] is True
    assert "Vercel may have started it, so it was not sent again" in lost["msg"]
    rerun = deploy(only_if_stale=True)
    assert rerun["exit_code"] == 0 and rerun["changed"] is False, rerun
    assert vercel.production_deployments() == ["READY", "READY"]


def test_a_deployment_still_building_is_waited_for(vercel, synced, deploy) -> None:
    synced()
    vercel.control("POST", "hooks", {"project_id": vercel.project["id"], "hook_id": "push"})
    vercel.call("POST", f"/v1/integrations/deploy/{vercel.project['id']}/push", token=None)
    assert vercel.production_deployments() == ["READY", "QUEUED"]
    run = deploy(only_if_stale=True)
    assert (run["exit_code"], run["changed"], run["stale"]) == (0, False, None), run
    assert vercel.production_deployments() == ["READY", "READY"]


def test_a_deploy_hook_is_called_without_the_token(vercel, deploy) -> None:
    vercel.control("POST", "hooks", {"project_id": vercel.project["id"], "hook_id": "deploy-hook"})
    hook = f"{vercel.base_url}/v1/integrations/deploy/{vercel.project['id']}/deploy-hook"
    run = deploy(project=None, token=None, hook_url=hook)
    assert run["exit_code"] == 0 and run["changed"] is True, run
    assert run["job"]
    assert vercel.production_deployments()[-1] in ("QUEUED", "BUILDING", "READY")
    check = deploy(project=None, token=None, hook_url=hook, check_mode=True)
    assert check["changed"] is True and vercel.writes() == []


def test_a_project_never_deployed_is_explained(vercel, deploy) -> None:
    vercel.add_project("empty", deployed=False)
    run = deploy(project="empty")
    assert run["exit_code"] == 1, run
    assert run["msg"] == ("project 'empty' has no READY production deployment to redeploy; deploy it once "
                          "(git push or `vercel deploy --prod`)")


def test_bad_token_and_unknown_project_are_named(vercel, deploy) -> None:
    assert "Vercel refused the token" in deploy(token="wrong")["msg"]
    assert "Vercel has no project 'nope'" in deploy(project="nope")["msg"]


def test_project_info_reads_the_project_once(vercel, run_module) -> None:
    info = run_module(vercel_project_info, vercel.connection())
    assert info["exit_code"] == 0 and info["changed"] is False, info
    assert info["project"] == {"id": vercel.project["id"], "name": "flowspace",
                               "accountId": vercel.project.get("accountId")}
    assert [r["method"] for r in vercel.requests()] == ["GET"]
    missing = run_module(vercel_project_info, vercel.connection(project="nope"))
    assert missing["exit_code"] == 1 and "Vercel has no project 'nope'" in missing["msg"]


def test_a_hook_url_without_the_hook_path_is_refused(vercel, deploy) -> None:
    run = deploy(project=None, token=None, hook_url=f"{vercel.base_url}/v1/deploy/abc")
    assert run["exit_code"] == 1 and vercel.requests() == []
    assert "a deploy hook URL contains /v1/integrations/deploy/" in run["msg"]


def test_a_hook_is_called_outside_the_team_scope(vercel, deploy) -> None:
    vercel.control("POST", "hooks", {"project_id": vercel.project["id"], "hook_id": "h1"})
    hook = f"{vercel.base_url}/v1/integrations/deploy/{vercel.project['id']}/h1"
    run = deploy(project=None, token=None, hook_url=hook, team_id="team_x")
    assert run["exit_code"] == 0, run
    [call] = vercel.requests()
    assert (call["method"], call["path"], call["query"]) == (
        "POST", f"/v1/integrations/deploy/{vercel.project['id']}/h1", {})


def test_the_team_scope_goes_with_every_api_request(vercel, deploy) -> None:
    vercel.add_project("teamed", team_id="team_1")
    run = deploy(project="teamed", team_id="team_1")
    assert run["exit_code"] == 0, run
    assert {r["query"].get("teamId") for r in vercel.requests()} == {"team_1"}
    other = deploy(project="teamed", team_id="team_2")
    assert other["exit_code"] == 1 and "Vercel has no project 'teamed'" in other["msg"]


def test_project_info_failures_carry_vercels_status_and_code(vercel, run_module) -> None:
    missing = run_module(vercel_project_info, vercel.connection(project="nope"))
    assert (missing["status"], missing["code"]) == (404, "not_found")
    refused = run_module(vercel_project_info, vercel.connection(token="wrong"))
    assert (refused["status"], refused["code"]) == (403, "forbidden")
    wrong_url = run_module(vercel_project_info, vercel.connection(api_url=vercel.base_url + "/x"))
    assert "check api_url" in wrong_url["msg"], "the client is asked whether the URL is Vercel's"


def test_a_deployment_is_dated_by_created_at_else_created() -> None:
    assert vercel_deploy.created_at({"createdAt": 5, "created": 7}) == 5
    assert vercel_deploy.created_at({"created": 7}) == 7
    assert vercel_deploy.created_at({}) == 0


def test_a_redeploy_is_stamped_and_reported_whole(vercel, synced, deploy) -> None:
    synced()
    run = deploy()
    assert (run["exit_code"], run["changed"]) == (0, True), run
    assert set(run["deployment"]) == {"id", "url", "readyState"}
    assert run["deployment"]["readyState"] == "READY"
    newest = max(vercel.deployments(vercel.project["id"]), key=lambda d: d["created"])
    assert (newest["uid"], newest["target"]) == (run["deployment"]["id"], "production")
    assert newest["name"] == "flowspace"
    assert newest["meta"]["flowspaceRedeploy"] == "1"
    assert "warnings" not in run, "the token is declared secret (no_log)"


def test_check_mode_says_what_it_would_do_and_writes_nothing(vercel, synced, deploy) -> None:
    synced()
    run = deploy(check_mode=True)
    assert (run["exit_code"], run["changed"], run["msg"]) == (0, True, "would start a new deployment")
    assert vercel.writes() == []


def test_a_hook_answer_is_returned_whole(vercel, deploy) -> None:
    vercel.control("POST", "hooks", {"project_id": vercel.project["id"], "hook_id": "deploy-hook"})
    hook = f"{vercel.base_url}/v1/integrations/deploy/{vercel.project['id']}/deploy-hook"
    run = deploy(project=None, token=None, hook_url=hook)
    assert run["job"]["id"].startswith("dpl_") and run["job"]["state"] == "PENDING"
    assert hook not in str(run), "the hook URL is a secret"


@pytest.mark.parametrize(("options", "message"), [
    ({"project": None}, "one of the following is required: project, hook_url"),
    ({"project": ""}, "one of the following is required: project, hook_url"),
    ({"token": None}, "missing parameter(s) required by 'project': token"),
    ({"project": None, "only_if_stale": True, "hook_url": "https://api.vercel.com/v1/integrations/deploy/p/h"},
     "only_if_stale is True but all of the following are missing: project"),
])
def test_the_option_rules_are_refused_before_any_request(vercel, deploy, options, message) -> None:
    run = deploy(**options)
    assert (run["exit_code"], run["msg"]) == (1, message)
    assert vercel.requests() == []


def test_an_api_failure_carries_vercels_status_and_code(vercel, deploy) -> None:
    run = deploy(token="wrong")
    assert (run["exit_code"], run["status"], run["code"]) == (1, 403, "forbidden")
