"""vercel_env's writes against a scripted client: batches, type changes that put the old
variable back when the create fails, and a re-plan when a write's outcome is unknown."""

import pytest

from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import AmbiguousWrite, VercelError
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import Plan
from ansible_collections.flowspace.infra.plugins.modules import vercel_env


class Client:
    def __init__(self, fail_creates=(), envs=()):
        self.fail_creates, self.envs, self.sent = list(fail_creates), list(envs), []

    def delete_envs(self, project, ids):
        self.sent.append(("DELETE", list(ids)))
        self.envs = [e for e in self.envs if e["id"] not in ids]

    def create_env(self, project, items, upsert=False):
        self.sent.append(("POST", items))
        if self.fail_creates:
            raise self.fail_creates.pop(0)
        for item in items if isinstance(items, list) else [items]:
            self.envs.append({**item, "id": "new-" + item["key"]})
        return {"created": items, "failed": []}

    def edit_env(self, project, env_id, body):
        self.sent.append(("PATCH", env_id))

    def list_env(self, project):
        self.sent.append(("GET", None))
        return list(self.envs)


OLD = {"id": "id-A", "key": "A", "type": "plain", "value": "old", "target": ["production"], "comment": "c"}
NEW = {"key": "A", "type": "sensitive", "value": "new", "target": ["production"], "comment": "c2"}


def test_a_type_change_is_a_delete_then_a_create_of_that_variable_alone() -> None:
    client, written = Client(envs=[OLD]), []
    vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), written)
    assert [sent[0] for sent in client.sent] == ["DELETE", "POST"]
    assert written == ["changed A to sensitive"]


@pytest.mark.parametrize("error", [VercelError(400, "bad_request", "no"), AmbiguousWrite(500, "x", "lost")])
def test_a_failed_create_puts_the_old_variable_back(error) -> None:
    client = Client(fail_creates=[error], envs=[OLD])
    with pytest.raises(vercel_env.ReplaceFailed, match="put back as plain with its old value"):
        vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), [])
    [restored] = client.envs
    assert (restored["type"], restored["value"], restored["comment"]) == ("plain", "old", "c")


def test_a_lost_create_that_went_through_is_not_undone() -> None:
    class Applied(Client):
        def create_env(self, project, items, upsert=False):
            super().create_env(project, items, upsert)
            raise AmbiguousWrite(500, "x", "lost")

    client, written = Applied(envs=[OLD]), []
    vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), written)
    assert [e["type"] for e in client.envs] == ["sensitive"] and written == ["changed A to sensitive"]


def test_when_the_restore_fails_too_the_message_says_the_variable_is_missing() -> None:
    client = Client(fail_creates=[VercelError(400, "a", "no"), VercelError(400, "b", "no again")], envs=[OLD])
    with pytest.raises(vercel_env.ReplaceFailed, match="A is now MISSING"):
        vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), [])


def test_a_batch_refused_whole_returns_vercels_reasons_per_item() -> None:
    failed = [{"error": {"code": "ENV_CONFLICT", "message": "exists", "key": "B"}}]
    refusal = VercelError(400, "BAD_REQUEST", "none created", details={"failed": failed})
    client = Client(fail_creates=[refusal])
    assert vercel_env.apply(client, "p", Plan(create=[{"key": "B"}]), []) == failed
    assert "B: ENV_CONFLICT exists" in vercel_env.refusal_reasons(failed)


def test_an_error_without_reasons_is_raised() -> None:
    client = Client(fail_creates=[VercelError(500, "internal", "boom")])
    with pytest.raises(VercelError):
        vercel_env.apply(client, "p", Plan(create=[{"key": "B"}]), [])


@pytest.mark.parametrize(("error", "expected"), [
    (VercelError(404, "not_found", "gone", "PATCH", "/v9/projects/p/env/id-9"), "variable id-9 of project"),
    (VercelError(404, "not_found", "gone", "DELETE", "/v1/projects/p/env"), "a variable to remove"),
    (VercelError(400, "ENV_CONFLICT", "clash", "POST", "/v10/projects/p/env"), "conflicting variable"),
    (VercelError(403, "forbidden", "Not authorized", "GET", "/v10/projects/p/env"), "refused the token"),
])
def test_errors_are_explained_by_what_they_concern(error, expected) -> None:
    assert expected in vercel_env.explain_env(error, "p", None)


def test_an_ambiguous_or_vanished_write_is_re_planned_others_are_not() -> None:
    assert vercel_env.changed_under_us(AmbiguousWrite(500, "x", "lost", "POST", "/v10/projects/p/env"))
    assert vercel_env.changed_under_us(VercelError(404, "not_found", "gone", "PATCH", "/v9/projects/p/env/x"))
    assert not vercel_env.changed_under_us(VercelError(404, "not_found", "gone", "GET", "/v9/projects/p"))
    assert not vercel_env.changed_under_us(VercelError(400, "bad", "no", "POST", "/v10/projects/p/env"))


class Recording(Client):
    """Answers each create as Vercel does: `created` (one object for a single item, a list for a
    batch) and `failed`, per the SCRIPT of (created, failed) given in order."""

    def __init__(self, script, **kwargs):
        super().__init__(**kwargs)
        self.script, self.upserts = list(script), []

    def create_env(self, project, items, upsert=False):
        self.upserts.append(upsert)
        super().create_env(project, items, upsert)
        created, failed = self.script.pop(0)
        return {"created": created, "failed": failed}


def test_every_confirmed_write_is_recorded_in_order() -> None:
    refused = [{"error": {"code": "ENV_CONFLICT", "message": "exists", "key": "C"}}]
    client = Recording([([{"key": "B"}, {"key": "B2"}], []), ({"key": "U"}, refused)], envs=[OLD])
    written = []
    changes = Plan(delete=["id-x", "id-y"], create=[{"key": "B"}, {"key": "B2"}], upsert=[{"key": "U"}],
                   patch=[("id-p", {"target": ["preview"]})])
    assert vercel_env.apply(client, "p", changes, written) == refused
    assert written == ["deleted 2 variable(s)", "created 2 variable(s)", "upserted 1 variable(s)",
                       "edited variable id-p"]
    assert client.upserts == [False, True]
    assert [sent[0] for sent in client.sent] == ["DELETE", "POST", "POST", "PATCH"]


def test_a_create_vercel_answers_with_nothing_created_records_nothing() -> None:
    client = Recording([([], [])])
    written = []
    assert vercel_env.apply(client, "p", Plan(create=[{"key": "B"}]), written) == []
    assert written == []


def test_refusals_of_two_batches_are_added_up() -> None:
    first = [{"error": {"code": "ENV_CONFLICT", "key": "B"}}]
    second = [{"error": {"code": "ENV_CONFLICT", "key": "U"}}]
    client = Client(fail_creates=[VercelError(400, "bad", "none", details={"failed": first}),
                                  VercelError(400, "bad", "none", details={"failed": second})])
    written = []
    assert vercel_env.apply(client, "p", Plan(create=[{"key": "B"}], upsert=[{"key": "U"}]), written) == (
        first + second)
    assert written == []


@pytest.mark.parametrize("error", [VercelError(400, "bad", "no list", details={"failed": "x"}),
                                   VercelError(409, "conflict", "no", details={"failed": []})])
def test_a_refusal_without_vercels_item_list_is_raised(error) -> None:
    with pytest.raises(VercelError):
        vercel_env.apply(Client(fail_creates=[error]), "p", Plan(create=[{"key": "B"}]), [])


def test_refusal_reasons_name_each_key_and_explain_a_conflict() -> None:
    assert vercel_env.refusal_reasons([
        {"error": {"code": "ENV_CONFLICT", "message": "exists", "key": "A"}},
        {"code": "BAD_VALUE", "message": "too long", "key": "B"},
        {"error": {}}]) == (
        "A: ENV_CONFLICT exists (another variable holds this key for an overlapping target; changed while "
        "this ran?); B: BAD_VALUE too long; ?: None None")


def test_what_a_failed_type_change_says_whole() -> None:
    client = Client(fail_creates=[VercelError(500, "internal", "boom", "POST", "/v10/projects/p/env")],
                    envs=[OLD])
    with pytest.raises(vercel_env.ReplaceFailed) as plain:
        vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), [])
    assert str(plain.value) == (
        "A: changing its type from plain to sensitive failed (POST /v10/projects/p/env: HTTP 500 internal: "
        "boom); the variable was put back as plain with its old value, so nothing was lost; run again to "
        "retry the change")
    secret = {**OLD, "type": "sensitive"}
    secret.pop("value")
    client = Client(fail_creates=[VercelError(400, "bad", "no")], envs=[secret])
    with pytest.raises(vercel_env.ReplaceFailed) as sensitive:
        vercel_env.apply(client, "p", Plan(replace=[(secret, {**NEW, "type": "encrypted"})]), [])
    assert "put back as sensitive holding the new value, so nothing was lost" in str(sensitive.value)
    assert [e["value"] for e in client.envs] == ["new"]
    client = Client(fail_creates=[VercelError(400, "a", "no"), VercelError(400, "b", "again")], envs=[OLD])
    with pytest.raises(vercel_env.ReplaceFailed) as missing:
        vercel_env.apply(client, "p", Plan(replace=[(OLD, NEW)]), [])
    assert str(missing.value) == (
        "A: changing its type from plain to sensitive failed (HTTP 400 a: no) and putting the old variable "
        "back failed too (HTTP 400 b: again): A is now MISSING from project 'p'; run again to create it")
