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
    asked = []

    def fake_fetch(module, url, data=None, headers=None, method=None, timeout=None):
        asked.append((method, url, headers.get("Authorization")))
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
