"""VercelClient: retries are bounded and honour Retry-After; errors carry Vercel's code."""

import io
import json

import pytest

from ansible_collections.flowspace.infra.plugins.module_utils import vercel_api


class FakeModule:
    def __init__(self, **params):
        self.params = {"api_url": "https://api.test", "token": "t", "team_id": "team_1", "team_slug": None,
                       "timeout": 5, "retries": 2, **params}


def scripted(monkeypatch, answers):
    """fetch_url answering from a list of (status, body, headers); records the URLs asked."""
    asked, sent = [], []
    scripted.sent = sent

    def fake_fetch(module, url, data=None, headers=None, method=None, timeout=None):
        asked.append((method, url, headers.get("Authorization")))
        sent.append(json.loads(data) if data else None)
        status, body, extra = answers.pop(0)
        info = {"status": status, "msg": "fake", **extra}
        if 200 <= status < 300:
            return io.BytesIO(json.dumps(body).encode()), info
        info["body"] = json.dumps(body).encode()
        return None, info

    monkeypatch.setattr(vercel_api, "fetch_url", fake_fetch)
    return asked


def test_429_waits_retry_after_then_succeeds(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(429, {"error": {"code": "rate_limited"}}, {"retry-after": "7"}),
                                   (200, {"envs": []}, {})])
    slept = []
    client = vercel_api.VercelClient(FakeModule(), sleep=slept.append)
    assert client.list_env("app") == []
    assert slept == [7.0]
    assert asked[0][1] == "https://api.test/v10/projects/app/env?teamId=team_1&decrypt=true"
    assert asked[0][2] == "Bearer t"


def test_server_errors_back_off_and_give_up_after_the_bound(monkeypatch) -> None:
    scripted(monkeypatch, [(503, {}, {})] * 3)
    slept = []
    client = vercel_api.VercelClient(FakeModule(retries=2), sleep=slept.append)
    with pytest.raises(vercel_api.VercelError, match="gave up after 3 attempt"):
        client.list_env("app")
    assert slept == [0.5, 1.0]


def test_client_errors_are_not_retried_and_keep_vercels_code(monkeypatch) -> None:
    scripted(monkeypatch, [(400, {"error": {"code": "ENV_CONFLICT", "message": "exists"}}, {})])
    with pytest.raises(vercel_api.VercelError) as raised:
        vercel_api.VercelClient(FakeModule(), sleep=lambda s: None).create_env("app", [{"key": "A"}])
    assert (raised.value.status, raised.value.code, raised.value.message) == (400, "ENV_CONFLICT", "exists")


def test_pagination_is_followed(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(200, {"envs": [{"id": 1}], "pagination": {"next": 99}}, {}),
                                   (200, {"envs": [{"id": 2}], "pagination": {"next": None}}, {})])
    assert vercel_api.VercelClient(FakeModule()).list_env("app") == [{"id": 1}, {"id": 2}]
    assert asked[1][1].endswith("until=99")


def test_deploy_hooks_go_without_token_or_scope(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(201, {"job": {"id": "j"}}, {})])
    client = vercel_api.VercelClient(FakeModule())
    assert client.call_deploy_hook("https://hooks.test/v1/integrations/deploy/prj/hook")["job"]["id"] == "j"
    assert asked == [("POST", "https://hooks.test/v1/integrations/deploy/prj/hook", None)]


def test_what_vercel_puts_beside_the_error_is_kept(monkeypatch) -> None:
    failed = [{"error": {"code": "ENV_CONFLICT", "message": "exists", "key": "A"}}]
    scripted(monkeypatch, [(400, {"error": {"code": "BAD_REQUEST", "message": "none created"},
                                  "failed": failed}, {})])
    client = vercel_api.VercelClient(FakeModule())
    with pytest.raises(vercel_api.VercelError) as raised:
        client.create_env("app", [{"key": "A"}])
    assert raised.value.details["failed"] == failed and raised.value.code == "BAD_REQUEST"


def test_a_404_from_a_url_that_is_no_vercel_api_is_not_called_a_missing_project(monkeypatch) -> None:
    scripted(monkeypatch, [(404, {}, {}), (404, {}, {})])
    client = vercel_api.VercelClient(FakeModule())
    with pytest.raises(vercel_api.VercelError) as raised:
        client.project("app")
    message = vercel_api.explain(raised.value, "app", client)
    assert "check api_url" in message and "no project" not in message


def test_a_project_vercel_does_not_have_is_named_as_missing(monkeypatch) -> None:
    scripted(monkeypatch, [(404, {"error": {"code": "not_found", "message": "Project not found"}}, {})])
    client = vercel_api.VercelClient(FakeModule())
    with pytest.raises(vercel_api.VercelError) as raised:
        client.project("app")
    assert "has no project 'app'" in vercel_api.explain(raised.value, "app", client)


def test_deployments_are_read_by_uid_and_state_as_lists_give_them() -> None:
    listed = {"uid": "dpl_1", "state": "BUILDING"}
    assert vercel_api.deployment_id(listed) == "dpl_1" and vercel_api.deployment_state(listed) == "BUILDING"
    single = {"id": "dpl_2", "readyState": "READY"}
    assert vercel_api.deployment_id(single) == "dpl_2" and vercel_api.deployment_state(single) == "READY"


def error_of(status, body=None, attempt=1, method="GET", path="/v9/projects/app", **info):
    raw = json.dumps(body).encode() if body is not None else None
    answer = {"msg": "HTTP Error", **({"body": raw} if raw else {}), **info}
    return vercel_api.VercelClient._error(status, answer, method, path, attempt)


def fields(error):
    return (error.status, error.code, error.message, error.method, error.path, error.details, str(error))


def test_each_kind_of_answer_becomes_one_error() -> None:
    assert fields(error_of(-1, attempt=3, msg="Connection refused")) == (
        -1, "unreachable", "Connection refused after 3 attempt(s)", "GET", "/v9/projects/app", {},
        "GET /v9/projects/app: HTTP -1 unreachable: Connection refused after 3 attempt(s)")
    assert error_of(-1, msg=None).message == "None after 1 attempt(s)"
    assert vercel_api.VercelClient._error(-1, {}, "GET", "/x", 1).message == "no answer after 1 attempt(s)"
    refused = {"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}, "x": 1}
    assert fields(error_of(403, refused, method="POST", path="/v10/projects/app/env")) == (
        403, "forbidden", "Not authorized", "POST", "/v10/projects/app/env", {"x": 1, "invalidToken": True},
        "POST /v10/projects/app/env: HTTP 403 forbidden: Not authorized")
    batch = {"error": {"code": "bad_request", "message": "No environment variables were created"},
             "failed": [{"error": {"code": "ENV_CONFLICT", "key": "A"}}]}
    assert error_of(400, batch).details == {"failed": [{"error": {"code": "ENV_CONFLICT", "key": "A"}}]}
    assert fields(error_of(502, None, attempt=5))[:3] == (
        502, "http_error", "HTTP Error (gave up after 5 attempt(s))")
    assert error_of(500, {"error": {"code": "internal"}}).message == "HTTP Error (gave up after 1 attempt(s))"
    assert error_of(429, {"error": {"code": "rate_limited", "message": "slow"}}, attempt=2).message == (
        "slow (gave up after 2 attempt(s))")
    assert error_of(499, {"error": "text, not an object"}).code == "http_error"
    assert error_of(404, ["a list"]).details == {}
    assert vercel_api.VercelClient._error(404, {"body": b"<html>"}, "GET", "/x", 1).code == "http_error"
    assert vercel_api.VercelClient._error(404, {}, "GET", "/x", 1).message == ""


def test_a_write_that_got_no_answer_is_ambiguous_and_not_sent_again(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(-1, {}, {"msg": "timed out"})])
    client = vercel_api.VercelClient(FakeModule(retries=4), sleep=lambda s: None)
    with pytest.raises(vercel_api.AmbiguousWrite) as lost:
        client.request("POST", "/v10/projects/app/env", body=[])
    assert (lost.value.status, lost.value.code, len(asked)) == (-1, "unreachable", 1)
    asked = scripted(monkeypatch, [(502, {}, {})])
    with pytest.raises(vercel_api.AmbiguousWrite):
        client.request("DELETE", "/v9/projects/app/env/1")
    assert len(asked) == 1
    asked = scripted(monkeypatch, [(502, {}, {}), (200, {"ok": 1}, {})])
    assert client.request("PATCH", "/v9/projects/app/env/1", body={}) == {"ok": 1}, "an edit may be repeated"


def test_backoff_doubles_to_its_ceiling_and_retry_after_is_bounded() -> None:
    delay = vercel_api.VercelClient._delay
    assert [delay(503, {}, attempt) for attempt in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 8, 8]
    assert delay(429, {"retry-after": "3"}, 1) == 3.0
    assert delay(429, {}, 1) == 1 and delay(429, {"retry-after": "soon"}, 1) == 1.0
    assert delay(429, {"retry-after": "100000"}, 1) == vercel_api.MAX_RETRY_AFTER


def test_a_4xx_is_not_retried(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(400, {"error": {"code": "bad"}}, {})])
    client = vercel_api.VercelClient(FakeModule(retries=4), sleep=lambda s: None)
    with pytest.raises(vercel_api.VercelError):
        client.request("GET", "/v9/projects/app")
    assert len(asked) == 1


def test_scope_and_query_are_sent_and_empty_values_left_out(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(200, {}, {})] * 3)
    client = vercel_api.VercelClient(FakeModule(team_id=None, team_slug="acme"), sleep=lambda s: None)
    client.request("GET", "/v9/x", {"a": "1", "b": None})
    client.request("GET", "/v9/y", scoped=False)
    client.request("GET", "/v9/z", auth=False)
    assert [(url, auth) for _method, url, auth in asked] == [
        ("https://api.test/v9/x?slug=acme&a=1", "Bearer t"), ("https://api.test/v9/y", "Bearer t"),
        ("https://api.test/v9/z?slug=acme", None)]
    assert client.requests == [("GET", "/v9/x"), ("GET", "/v9/y"), ("GET", "/v9/z")]


def test_deployments_are_asked_for_as_vercel_documents_them(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(200, {"deployments": [{"uid": "d1"}, {"uid": "d0"}]}, {}),
                                   (200, {}, {}), (200, {"deployments": [{"uid": "d1"}]}, {}), (200, {}, {}),
                                   (200, {"id": "d2"}, {}), (200, {"id": "d3"}, {}), (200, {"id": "d1"}, {})])
    client = vercel_api.VercelClient(FakeModule(team_id=None))
    assert client.latest_deployment("prj") == {"uid": "d1"}
    assert client.latest_deployment("prj", "preview") is None
    assert client.recent_deployments("prj", limit=5) == [{"uid": "d1"}]
    assert client.recent_deployments("prj") == []
    assert client.redeploy({"uid": "d1"}, "app", meta={"flowspaceRedeploy": "1"}) == {"id": "d2"}
    assert client.redeploy({"id": "d1"}, "app", "preview") == {"id": "d3"}
    assert client.deployment("d1") == {"id": "d1"}
    assert [(method, url) for method, url, _auth in asked] == [
        ("GET", "https://api.test/v6/deployments?projectId=prj&target=production&state=READY&limit=1"),
        ("GET", "https://api.test/v6/deployments?projectId=prj&target=preview&state=READY&limit=1"),
        ("GET", "https://api.test/v6/deployments?projectId=prj&target=production&limit=5"),
        ("GET", "https://api.test/v6/deployments?projectId=prj&target=production&limit=20"),
        ("POST", "https://api.test/v13/deployments?forceNew=1"),
        ("POST", "https://api.test/v13/deployments?forceNew=1"),
        ("GET", "https://api.test/v13/deployments/d1")]
    assert scripted.sent[4:6] == [
        {"deploymentId": "d1", "name": "app", "target": "production", "meta": {"flowspaceRedeploy": "1"}},
        {"deploymentId": "d1", "name": "app", "target": "preview"}]


def test_variables_are_written_as_vercel_documents_it(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(200, {"id": "p1"}, {})] + [(200, {}, {})] * 4)
    client = vercel_api.VercelClient(FakeModule(team_id=None))
    assert client.project("my app/x") == {"id": "p1"}
    client.create_env("p1", [{"key": "A"}])
    client.create_env("p1", {"key": "B"}, upsert=True)
    client.edit_env("p1", "env1", {"target": ["preview"]})
    client.delete_envs("p1", ("e1", "e2"))
    assert [(method, url) for method, url, _auth in asked] == [
        ("GET", "https://api.test/v9/projects/my%20app%2Fx"),
        ("POST", "https://api.test/v10/projects/p1/env"),
        ("POST", "https://api.test/v10/projects/p1/env?upsert=true"),
        ("PATCH", "https://api.test/v9/projects/p1/env/env1"),
        ("DELETE", "https://api.test/v1/projects/p1/env")]
    assert scripted.sent[1:] == [[{"key": "A"}], {"key": "B"}, {"target": ["preview"]}, {"ids": ["e1", "e2"]}]


@pytest.mark.parametrize(("answer", "is_vercel"), [((200, {}, {}), True), ((403, {}, {}), True),
                                                   ((404, {}, {}), False), ((-1, {}, {}), False)])
def test_whether_the_url_is_a_vercel_api_at_all(monkeypatch, answer, is_vercel) -> None:
    asked = scripted(monkeypatch, [answer])
    client = vercel_api.VercelClient(FakeModule(retries=0))
    assert client.api_answers() is is_vercel
    assert asked[0][:2] == ("GET", "https://api.test/v2/user"), "the user endpoint, outside any team"


def test_a_deploy_hook_is_called_at_its_own_url_then_the_api_is_asked_again(monkeypatch) -> None:
    asked = scripted(monkeypatch, [(201, {"job": {"id": "j"}}, {}), (200, {}, {})])
    client = vercel_api.VercelClient(FakeModule())
    hook = "https://hooks.test//v1/integrations/deploy/prj_1/abc"
    assert client.call_deploy_hook(hook) == {"job": {"id": "j"}}
    client.project("p")
    assert asked == [
        ("POST", "https://hooks.test/v1/integrations/deploy/prj_1/abc", None),
        ("GET", "https://api.test/v9/projects/p?teamId=team_1", "Bearer t")]
    with pytest.raises(vercel_api.VercelError) as refused:
        client.call_deploy_hook("https://hooks.test/deploy/abc")
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        0, "bad_hook_url", "a deploy hook URL contains /v1/integrations/deploy/")


@pytest.mark.parametrize(("error", "says"), [
    (vercel_api.VercelError(403, "forbidden", "no", "GET", "/v9/projects/p"),
     "Vercel refused the token (403 forbidden): check token and team scope. GET /v9/projects/p: HTTP 403 "
     "forbidden: no"),
    (vercel_api.VercelError(404, "not_found", "Project not found", "GET", "/v9/projects/p"),
     "Vercel has no project 'p' in this scope (404): check project and team_id/team_slug. GET "
     "/v9/projects/p: HTTP 404 not_found: Project not found"),
    (vercel_api.VercelError(404, "not_found", None, "GET", "/v9/projects/p"),
     "/v9/projects/p is not a Vercel API endpoint at this api_url (404 not_found): check api_url "
     "(Vercel's is https://api.vercel.com). GET /v9/projects/p: HTTP 404 not_found: None"),
    (vercel_api.VercelError(404, "not_found", "Project not found", "GET", "/v9/projects/p/env/x"),
     "Vercel API error: GET /v9/projects/p/env/x: HTTP 404 not_found: Project not found"),
    (vercel_api.VercelError(404, "not_found", "Project not found", "PATCH", "/v9/projects/p"),
     "Vercel API error: PATCH /v9/projects/p: HTTP 404 not_found: Project not found"),
])
def test_errors_are_explained_by_what_they_are_about(error, says) -> None:
    assert vercel_api.explain(error, "p") == says


def test_every_request_is_json_with_the_timeout_asked_at_the_base_url(monkeypatch) -> None:
    seen = []

    def fake_fetch(module, url, data=None, headers=None, method=None, timeout=None):
        seen.append((url, headers, timeout, data))
        return io.BytesIO(b""), {"status": 204, "msg": "No Content"}

    monkeypatch.setattr(vercel_api, "fetch_url", fake_fetch)
    client = vercel_api.VercelClient(FakeModule(api_url="https://api.test/", timeout=17, team_id=None))
    assert client.request("DELETE", "/v1/x") == {}, "an empty answer is an empty object"
    assert client.request("POST", "/v1/y", body={"a": 1}) == {}
    [(url, headers, timeout, data), (_url, _headers, _timeout, posted)] = seen
    assert (url, timeout, data) == ("https://api.test/v1/x", 17, None)
    assert headers == {"Content-Type": "application/json", "Authorization": "Bearer t"}
    assert json.loads(posted) == {"a": 1}


@pytest.mark.parametrize("status", [300, 500, -1])
def test_only_2xx_is_success_and_a_write_without_one_is_ambiguous_whole(monkeypatch, status) -> None:
    def fake_fetch(module, url, data=None, headers=None, method=None, timeout=None):
        body = json.dumps({"error": {"code": "c", "message": "m", "hint": "h"}, "beside": 1}).encode()
        return None, {"status": status, "msg": "lost", "body": body}

    monkeypatch.setattr(vercel_api, "fetch_url", fake_fetch)
    client = vercel_api.VercelClient(FakeModule(retries=0), sleep=lambda s: None)
    with pytest.raises(vercel_api.VercelError) as raised:
        client.request("POST", "/v1/things", body={})
    error = raised.value
    assert (error.method, error.path) == ("POST", "/v1/things")
    if status == 300:
        assert not isinstance(error, vercel_api.AmbiguousWrite) and (error.status, error.code) == (300, "c")
        return
    assert isinstance(error, vercel_api.AmbiguousWrite)
    if status == -1:
        assert (error.status, error.code, error.message) == (-1, "unreachable", "lost after 1 attempt(s)")
    else:
        assert (error.status, error.code, error.message) == (500, "c", "m (gave up after 1 attempt(s))")
        assert error.details == {"beside": 1, "hint": "h"}
