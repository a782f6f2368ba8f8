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
