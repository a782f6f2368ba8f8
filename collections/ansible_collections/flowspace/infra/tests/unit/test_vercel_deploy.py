"""vercel_deploy's verdict on whether production is stale, from the deployments and variables
as Vercel lists them (a scripted client; no HTTP)."""

import pytest

from ansible_collections.flowspace.infra.plugins.modules import vercel_deploy
from ansible_collections.flowspace.infra.plugins.modules.vercel_deploy import META_KEY, staleness


class Module:
    def __init__(self, wait=True, check_mode=False, last_change=None):
        self.params = {"wait": wait, "wait_timeout": 5, "poll_interval": 0, "last_change": last_change}
        self.check_mode = check_mode

    def fail_json(self, **result):
        raise AssertionError(result)


class Client:
    """Lists as Vercel does (uid, state, created); single reads move a build on to `outcome`."""

    def __init__(self, deployments, envs, outcome="READY"):
        self.deployments, self.envs, self.outcome, self.reads = deployments, envs, outcome, []

    def list_env(self, project_id):
        self.reads.append("env")
        return self.envs

    def recent_deployments(self, project_id, target):
        self.reads.append("deployments")
        return self.deployments

    def deployment(self, deployment_id):
        self.reads.append(deployment_id)
        return {"id": deployment_id, "readyState": self.outcome}


def listed(uid, state, created, ours=False):
    return {"uid": uid, "state": state, "created": created, "meta": {META_KEY: "1"} if ours else {}}


ENVS = [{"key": "A", "target": ["production"], "updatedAt": 100},
        {"key": "B", "target": ["preview"], "updatedAt": 900}]


def test_current_when_the_newest_ready_postdates_the_last_production_change() -> None:
    client = Client([listed("d1", "READY", 150)], ENVS)
    assert staleness(Module(), client, "p", "production") is None


def test_stale_when_the_newest_ready_predates_it() -> None:
    client = Client([listed("d1", "READY", 50)], ENVS)
    assert "predates the last change" in staleness(Module(), client, "p", "production")


def test_another_targets_change_does_not_make_production_stale() -> None:
    client = Client([listed("d1", "READY", 150)], ENVS)
    assert staleness(Module(), client, "p", "production") is None, "B (preview) changed at 900"


@pytest.mark.parametrize(("outcome", "verdict"), [("READY", None), ("ERROR", "ended ERROR")])
def test_a_build_started_after_the_change_is_waited_for(outcome, verdict) -> None:
    client = Client([listed("d2", "QUEUED", 200), listed("d1", "READY", 50)], ENVS, outcome)
    found = staleness(Module(), client, "p", "production")
    assert (found is None) if verdict is None else (verdict in found)
    assert "d2" in client.reads, "the queued build was read by its uid"


def test_in_check_mode_a_build_on_its_way_is_not_waited_for() -> None:
    client = Client([listed("d2", "BUILDING", 200), listed("d1", "READY", 50)], ENVS)
    assert staleness(Module(check_mode=True), client, "p", "production") is None
    assert client.reads == ["env", "deployments"]


def test_a_redeploy_of_ours_that_failed_after_the_newest_ready_is_still_owed() -> None:
    client = Client([listed("d3", "ERROR", 300, ours=True), listed("d1", "READY", 150)], ENVS)
    found = staleness(Module(), client, "p", "production")
    assert "(d3) ended ERROR" in found


def test_a_failed_build_that_is_not_ours_owes_nothing() -> None:
    client = Client([listed("d3", "ERROR", 300), listed("d1", "READY", 150)], ENVS)
    assert staleness(Module(), client, "p", "production") is None


def test_a_ready_deployment_after_our_failed_one_settles_it() -> None:
    client = Client([listed("d4", "READY", 400), listed("d3", "ERROR", 300, ours=True)], ENVS)
    assert staleness(Module(), client, "p", "production") is None


def test_no_ready_deployment_at_all_is_stale() -> None:
    assert "no READY production deployment" in staleness(Module(), Client([], ENVS), "p", "production")


def test_a_given_last_change_spares_the_variables_read() -> None:
    client = Client([listed("d1", "READY", 150)], ENVS)
    assert staleness(Module(last_change=200), client, "p", "production") is not None
    assert client.reads == ["deployments"]


def test_the_summary_reads_either_shape() -> None:
    assert vercel_deploy.summary({"uid": "d1", "state": "READY", "url": "u"}) == {
        "id": "d1", "url": "u", "readyState": "READY"}


class AskedClient(Client):
    def recent_deployments(self, project_id, target):
        self.reads.append(("deployments", project_id, target))
        return self.deployments


def test_the_verdicts_worded_whole_and_their_edges() -> None:
    # A deployment made in the same millisecond as the change does not count as built after it.
    same_ms = AskedClient([listed("d1", "READY", 100)], ENVS)
    assert staleness(Module(), same_ms, "prj", "production") == (
        "the newest READY production deployment predates the last change to its variables")
    assert same_ms.reads == ["env", ("deployments", "prj", "production")]
    assert staleness(Module(), Client([listed("d2", "BUILDING", 100)], ENVS), "p", "production") == (
        "the project has no READY production deployment built since its variables last changed")
    owed = Client([listed("d3", "ERROR", 300, ours=True), listed("d5", "CANCELED", 350, ours=True),
                   listed("d1", "READY", 150)], ENVS)
    assert staleness(Module(), owed, "p", "production") == (
        "the redeploy started for an earlier change (d5) ended CANCELED and no production deployment is "
        "READY since")


def test_the_newest_build_on_its_way_is_the_one_waited_for() -> None:
    client = Client([listed("d2", "QUEUED", 200), listed("d3", "BUILDING", 300), listed("d1", "READY", 50)],
                    ENVS, "ERROR")
    assert staleness(Module(), client, "p", "production") == (
        "the deployment started after the last change ended ERROR")
    assert "d3" in client.reads and "d2" not in client.reads
