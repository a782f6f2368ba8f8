"""The Vercel API emulator behaves as Vercel documents its API: these tests pin that behaviour,
so the module tests built on it test against Vercel's rules, not the emulator's whims."""

import pytest

from labkit.clients.vercel_client import EmulatorClient
from labkit.standins import vercel_emulator

TOKEN = "emulator-test-token"


@pytest.fixture
def api():
    server = vercel_emulator.serve(0, [TOKEN])
    yield EmulatorClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    server.shutdown()


def env(key, value="v", target=("production", "preview"), type_="encrypted", **extra):
    return {"key": key, "value": value, "type": type_, "target": list(target), **extra}


def test_a_bad_or_missing_token_is_refused_as_vercel_does(api) -> None:
    project = api.add_project("app")
    for token in ("wrong", None):
        answer = api.call("GET", f"/v10/projects/{project['id']}/env", token=token)
        assert answer.status == 403
        assert answer.body["error"]["code"] == "forbidden"
        assert answer.body["error"]["message"] == "Not authorized"


def test_projects_are_found_by_id_or_name_within_their_team_scope(api) -> None:
    project = api.add_project("team-app", team_id="team_1", team_slug="acme")
    assert api.call("GET", "/v9/projects/team-app").status == 404
    assert api.call("GET", "/v9/projects/team-app?teamId=team_1").body["id"] == project["id"]
    assert api.call("GET", f"/v9/projects/{project['id']}?slug=acme").status == 200
    assert api.call("GET", "/v9/projects/team-app?teamId=team_2").body["error"]["code"] == "not_found"


def test_each_endpoint_answers_only_at_its_api_version(api) -> None:
    project = api.add_project("app")
    assert api.call("GET", f"/v8/projects/{project['id']}/env").status == 404
    assert api.call("POST", f"/v9/projects/{project['id']}/env", env("A")).status == 404
    assert api.call("POST", f"/v10/projects/{project['id']}/env", env("A")).status == 201


def test_create_conflict_and_upsert(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    created = api.call("POST", path, env("URL", "one"))
    assert created.status == 201 and created.body["created"]["value"] != "one", "POST returns ciphertext"
    clash = api.call("POST", path, env("URL", "two", target=["production"]))
    assert (clash.status, clash.body["error"]["code"]) == (400, "ENV_CONFLICT")
    # upsert updates only when the targets are exactly the same
    assert api.call("POST", path + "?upsert=true", env("URL", "two", target=["production"])).status == 400
    assert api.call("POST", path + "?upsert=true", env("URL", "two")).status == 201
    listed = api.call("GET", path + "?decrypt=true").body["envs"]
    assert [(e["key"], e["value"]) for e in listed] == [("URL", "two")]
    # a different git branch is a different slot
    assert api.call("POST", path, env("URL", "b", target=["preview"], gitBranch="feature")).status == 201


def test_arrays_report_failures_per_item(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    api.call("POST", path, env("TAKEN"))
    answer = api.call("POST", path, [env("NEW"), env("TAKEN"), env("1BAD")])
    assert answer.status == 201
    assert [e["key"] for e in answer.body["created"]] == ["NEW"]
    assert sorted(f["error"]["code"] for f in answer.body["failed"]) == ["ENV_CONFLICT", "bad_request"]


def test_sensitive_values_are_never_returned(api) -> None:
    project = api.add_project("app")
    path = f"/v10/projects/{project['id']}/env"
    created = api.call("POST", path, [env("SECRET", "s3cret", type_="sensitive"), env("ENC", "e"),
                                      env("PLAIN", "p", type_="plain")]).body["created"]
    listed = {e["key"]: e for e in api.call("GET", path + "?decrypt=true").body["envs"]}
    assert "value" not in listed["SECRET"]
    assert (listed["ENC"]["value"], listed["PLAIN"]["value"]) == ("e", "p")
    undecrypted = {e["key"]: e for e in api.call("GET", path).body["envs"]}
    assert undecrypted["ENC"]["value"] != "e"
    secret_id = next(e["id"] for e in created if e["key"] == "SECRET")
    assert "value" not in api.call("GET", f"/v1/projects/{project['id']}/env/{secret_id}").body
    refused = api.call("POST", path, env("DEV_SECRET", type_="sensitive", target=["development"]))
    assert refused.status == 400 and "Development" in refused.body["error"]["message"]


def test_list_pagination_is_followed_with_until(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    api.call("POST", path, [env(f"K{i}") for i in range(5)])
    api.control("POST", "settings", {"page_size": 2})
    keys, until, pages = [], None, 0
    while True:
        page = api.call("GET", path + (f"?until={until}" if until else "")).body
        pages += 1
        keys += [e["key"] for e in page["envs"]]
        until = page["pagination"]["next"]
        if not until:
            break
    assert pages == 3 and sorted(keys) == [f"K{i}" for i in range(5)]


def test_edit_and_delete_one_or_many(api) -> None:
    project = api.add_project("app")
    path = f"/v10/projects/{project['id']}/env"
    ids = [e["id"] for e in api.call("POST", path, [env("A"), env("B"), env("C")]).body["created"]]
    edited = api.call("PATCH", f"/v9/projects/{project['id']}/env/{ids[0]}",
                      {"value": "new", "target": ["preview"]})
    assert edited.status == 200 and edited.body["target"] == ["preview"]
    assert api.call("DELETE", f"/v9/projects/{project['id']}/env/{ids[1]}").status == 200
    batch = api.call("DELETE", f"/v1/projects/{project['id']}/env", {"ids": [ids[2]]})
    assert batch.body["deleted"] == [ids[2]]
    assert [e["key"] for e in api.stored_envs(project["id"])] == ["A"]
    assert api.call("DELETE", f"/v1/projects/{project['id']}/env", {"ids": ["nope"]}).status == 404


def test_injected_rate_limits_and_server_errors(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    api.control("POST", "faults", [{"status": 429, "count": 1, "retry_after": 2, "path": path},
                                   {"status": 503, "count": 1, "path": path}])
    limited = api.call("GET", path)
    assert (limited.status, limited.body["error"]["code"]) == (429, "rate_limited")
    assert limited.headers["Retry-After"] == "2"
    assert api.call("GET", path).status == 503
    assert api.call("GET", path).status == 200


def test_redeploys_see_the_environment_of_their_creation(api) -> None:
    project = api.add_project("app")
    first = api.deployments(project["id"])[0]
    api.call("POST", f"/v10/projects/{project['id']}/env", env("URL", "wss://one"))
    query = f"projectId={project['id']}&target=production&state=READY&limit=1"
    latest = api.call("GET", f"/v6/deployments?{query}")
    assert latest.body["deployments"][0]["uid"] == first["uid"]
    new = api.call("POST", "/v13/deployments?forceNew=1",
                   {"deploymentId": first["uid"], "name": "app", "target": "production"}).body
    states = [api.call("GET", f"/v13/deployments/{new['id']}").body["readyState"] for _ in range(3)]
    assert states == ["QUEUED", "BUILDING", "READY"]
    snapshots = {d["uid"]: d["env"] for d in api.deployments(project["id"])}
    assert snapshots[first["uid"]] == {} and snapshots[new["id"]] == {"URL": "wss://one"}


def test_deploy_hooks_need_no_token_but_a_known_hook(api) -> None:
    project = api.add_project("app")
    api.control("POST", "hooks", {"project_id": project["id"], "hook_id": "hook1"})
    assert api.call("POST", f"/v1/integrations/deploy/{project['id']}/nope", token=None).status == 404
    job = api.call("POST", f"/v1/integrations/deploy/{project['id']}/hook1", token=None)
    assert job.status == 201 and job.body["job"]["state"] == "PENDING"
    assert len(api.deployments(project["id"])) == 2


def test_reserved_names_and_git_branches_outside_preview_are_refused(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    for item, code in ((env("TZ"), "ENV_KEY_RESERVED"), (env("VERCEL_URL"), "ENV_KEY_RESERVED"),
                       (env("B", target=["production"], gitBranch="main"), "git_branch_preview_only")):
        answer = api.call("POST", path, item)
        assert (answer.status, answer.body["error"]["code"]) == (400, code)
    assert api.call("POST", path, env("B", target=["preview"], gitBranch="main")).status == 201


def test_a_batch_with_nothing_created_is_refused_with_each_items_reason(api) -> None:
    path = f"/v10/projects/{api.add_project('app')['id']}/env"
    answer = api.call("POST", path, [env("TZ"), env("1BAD")])
    assert answer.status == 400
    error = answer.body["error"]
    assert error["message"] == "No environment variables were created"
    # Each item's reason comes beside the error object, not inside it.
    assert "failed" not in error
    assert [(f["error"]["key"], f["error"]["code"]) for f in answer.body["failed"]] == [
        ("TZ", "ENV_KEY_RESERVED"), ("1BAD", "bad_request")]


def test_a_fault_after_the_fact_applies_the_write_and_loses_its_answer(api) -> None:
    project = api.add_project("app")
    path = f"/v10/projects/{project['id']}/env"
    api.control("POST", "faults", {"after": True, "drop": True, "count": 1, "path": path, "method": "POST"})
    with pytest.raises(OSError):
        api.call("POST", path, env("A"))
    assert [e["key"] for e in api.stored_envs(project["id"])] == ["A"]


# DNS (Vercel's documented records endpoints)


def record(name, value, type_="A", **extra):
    return {"name": name, "type": type_, "value": value, **extra}


def test_dns_records_are_listed_newest_first_in_pages_of_twenty(api) -> None:
    api.add_domain("example.com")
    for number in range(25):
        created = api.call("POST", "/v2/domains/example.com/records", record(f"h{number}", "192.0.2.1"))
        assert created.status == 200
    first = api.call("GET", "/v5/domains/example.com/records").body
    assert len(first["records"]) == 20 and first["records"][0]["name"] == "h24"
    rest = api.call("GET", f"/v5/domains/example.com/records?until={first['pagination']['next']}").body
    assert [r["name"] for r in rest["records"]] == [f"h{n}" for n in range(4, -1, -1)]
    assert rest["pagination"]["next"] is None
    assert len(api.call("GET", "/v5/domains/example.com/records?limit=100").body["records"]) == 25
    assert api.call("GET", "/v4/domains/example.com/records").status == 404


def test_dns_create_update_delete_answer_as_documented(api) -> None:
    api.add_domain("example.com")
    created = api.call("POST", "/v2/domains/example.com/records", record("rtc", "192.0.2.1", ttl=300))
    assert set(created.body) == {"uid", "updated"}
    listed = api.call("GET", "/v5/domains/example.com/records").body["records"][0]
    assert (listed["id"], listed["name"], listed["type"], listed["value"], listed["ttl"]) == (
        created.body["uid"], "rtc", "A", "192.0.2.1", 300)
    updated = api.call("PATCH", f"/v1/domains/records/{listed['id']}", {"value": "192.0.2.2"})
    assert (updated.status, updated.body["recordType"], updated.body["value"]) == (200, "A", "192.0.2.2")
    assert api.call("DELETE", f"/v2/domains/example.com/records/{listed['id']}").body == {}
    assert api.call("DELETE", f"/v2/domains/example.com/records/{listed['id']}").status == 404


def test_dns_refuses_bad_values_and_a_cname_beside_another_record(api) -> None:
    api.add_domain("example.com")
    path = "/v2/domains/example.com/records"
    assert api.call("POST", path, record("a", "not-an-ip")).body["error"]["code"] == "invalid_value"
    assert api.call("POST", path, record("a", "192.0.2.1", "AAAA")).status == 400
    assert api.call("POST", path, record("a", "192.0.2.1", ttl=59)).body["error"]["code"] == "invalid_ttl"
    assert api.call("POST", path, record("a", "192.0.2.1")).status == 200
    clash = api.call("POST", path, record("a", "cname.vercel-dns.com", "CNAME"))
    assert (clash.status, clash.body["error"]["code"]) == (409, "record_conflicts")
    assert api.call("POST", path, record("b", "cname.vercel-dns.com", "CNAME")).status == 200
    assert api.call("POST", path, record("b", "192.0.2.1")).status == 409
    # the same name, type and value twice is allowed, as on Vercel
    assert api.call("POST", path, record("a", "192.0.2.1")).status == 200


def test_dns_domains_are_found_only_in_their_scope_and_tokens_may_lack_dns(api) -> None:
    api.add_domain("team.example", team_id="team_1", team_slug="acme")
    assert api.call("GET", "/v5/domains/team.example/records").status == 404
    assert api.call("GET", "/v5/domains/team.example/records?teamId=team_1").status == 200
    assert api.call("GET", "/v5/domains/team.example/records?slug=acme").status == 200
    assert api.call("GET", "/v5/domains/other.example/records").body["error"]["code"] == "not_found"
    api.deny_dns(TOKEN)
    denied = api.call("GET", "/v5/domains/team.example/records?teamId=team_1")
    assert (denied.status, denied.body["error"]["code"]) == (403, "forbidden")
