"""The vercel_env planner: every rule about what to create, update, delete or refuse."""

from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import (
    compose_comment,
    desired_errors,
    fingerprint,
    plan,
    restore_payload,
    split_comment,
)

SECRET = "fingerprint-secret"


def want(key, value="v1", target=("production", "preview"), type_="encrypted", **extra):
    return {"key": key, "value": value, "type": type_, "target": sorted(target), "comment": "", **extra}


def stored(key, value="v1", target=("production", "preview"), type_="encrypted", managed=True, env_id=None,
           comment=""):
    env = {"id": env_id or f"id-{key}", "key": key, "type": type_, "target": sorted(target),
           "comment": compose_comment(comment, fingerprint(SECRET, key, value)) if managed else comment}
    if type_ != "sensitive":
        env["value"] = value
    return env


def test_fingerprints_are_keyed_and_never_the_value() -> None:
    assert fingerprint(SECRET, "K", "v") != fingerprint("other", "K", "v")
    assert fingerprint(SECRET, "K", "v") != fingerprint(SECRET, "K2", "v")
    assert len(fingerprint(SECRET, "K", "v")) == 16
    assert split_comment(compose_comment("note", "0123456789abcdef")) == ("note", "0123456789abcdef")
    assert split_comment("hand-written") == ("hand-written", None)


def test_nothing_to_do_when_everything_matches_sensitive_included() -> None:
    variables = [want("A"), want("S", "secret", type_="sensitive")]
    result = plan(variables, [stored("A"), stored("S", "secret", type_="sensitive")], secret=SECRET)
    assert not result.changed and not result.redeploy_needed


def test_new_variables_are_created_in_one_batch() -> None:
    result = plan([want("A"), want("B", target=["preview"])], [], secret=SECRET)
    assert [p["key"] for p in result.create] == ["A", "B"] and result.created == ["A", "B"]
    assert all("[flowspace.infra fp=" in p["comment"] for p in result.create)
    assert result.redeploy_needed


def test_value_changes_are_upserted_and_sensitive_ones_seen_by_fingerprint() -> None:
    result = plan([want("A", "v2"), want("S", "new", type_="sensitive")],
                  [stored("A"), stored("S", "old", type_="sensitive")], secret=SECRET)
    assert [p["key"] for p in result.upsert] == ["A", "S"] and not result.create
    assert result.after["S"][0]["value"] == "(changed value)"
    assert all("old" not in str(side) and "new" not in str(side) for side in (result.before, result.after))


def test_a_value_changed_behind_the_modules_back_is_noticed() -> None:
    drifted = stored("A")
    drifted["value"] = "edited in the dashboard"
    assert plan([want("A")], [drifted], secret=SECRET).updated == ["A"]


def test_type_changes_recreate_and_target_changes_patch() -> None:
    result = plan([want("A", type_="sensitive"), want("B", target=["production"])],
                  [stored("A"), stored("B")], secret=SECRET)
    (old, payload), = result.replace
    assert old["id"] == "id-A" and payload["key"] == "A" and payload["type"] == "sensitive"
    assert result.delete == [] and result.create == [], "replaced one at a time, not in the batches"
    (env_id, body), = result.patch
    assert env_id == "id-B"
    comment = compose_comment("", fingerprint(SECRET, "B", "v1"))
    kept = {"value": "v1", "type": "encrypted", "comment": comment}
    assert body == {**kept, "target": ["production"]}, "the edit keeps value, type and comment"


def test_unmanaged_variables_with_exactly_the_same_targets_are_refused_unless_adopted() -> None:
    refused = plan([want("A")], [stored("A", managed=False)], secret=SECRET)
    assert not refused.changed
    assert "set adopt: true" in refused.conflicts[0] and "not managed by this module" in refused.conflicts[0]
    result = plan([want("A")], [stored("A", managed=False)], secret=SECRET, adopt=True)
    assert result.updated == ["A"] and [p["key"] for p in result.upsert] == ["A"]


def test_adopt_never_takes_a_variable_on_overlapping_targets() -> None:
    result = plan([want("A")], [stored("A", target=["production"], managed=False)], secret=SECRET, adopt=True)
    assert not result.changed and "overlapping targets" in result.conflicts[0]


def test_unmanaged_variables_on_overlapping_targets_are_conflicts() -> None:
    result = plan([want("A")], [stored("A", target=["production"], managed=False)], secret=SECRET)
    assert not result.changed
    assert "not managed by this module" in result.conflicts[0]


def test_prune_removes_only_managed_variables_not_wanted() -> None:
    existing = [stored("KEEP"), stored("OLD"), stored("HAND", managed=False)]
    result = plan([want("KEEP")], existing, prune=True, secret=SECRET)
    assert result.delete == ["id-OLD"] and result.deleted == ["OLD"]


def test_prune_removes_the_old_variable_of_a_key_whose_targets_moved() -> None:
    existing = [stored("RETARGET", target=["development"], env_id="dev")]
    result = plan([want("RETARGET", target=["production"])], existing, prune=True, secret=SECRET)
    assert [p["target"] for p in result.create] == [["production"]]
    assert result.delete == ["dev"] and result.deleted == ["RETARGET"]


def test_absent_takes_only_the_listed_targets_off_a_wider_variable() -> None:
    existing = [stored("WIDE", target=["production", "preview"], env_id="w")]
    result = plan([want("WIDE", target=["production"])], existing, state="absent", secret=SECRET)
    assert result.delete == [] and result.patch == [("w", {"target": ["preview"]})]
    assert result.updated == ["WIDE"] and result.redeploy_needed
    every = plan([want("WIDE", target=["production", "preview", "development"])], existing,
                 state="absent", secret=SECRET)
    assert every.delete == ["w"] and every.patch == []


def test_absent_deletes_overlapping_slots_only() -> None:
    existing = [stored("A", target=["production"], env_id="p"),
                stored("A", target=["development"], env_id="d")]
    result = plan([want("A", target=["production", "preview"])], existing, state="absent", secret=SECRET)
    assert result.delete == ["p"] and result.redeploy_needed


def test_preview_only_changes_need_no_redeploy() -> None:
    result = plan([want("P", "new", target=["preview"])], [stored("P", "old", target=["preview"])],
                  secret=SECRET)
    assert result.changed and not result.redeploy_needed


def test_git_branches_are_separate_slots() -> None:
    result = plan([want("A", target=["preview"], gitBranch="feature")], [stored("A", target=["preview"])],
                  secret=SECRET)
    assert [p["key"] for p in result.create] == ["A"] and result.create[0]["gitBranch"] == "feature"


def test_desired_errors_name_each_problem() -> None:
    errors = desired_errors([
        want("1A"), want("B", target=[]), want("C", target=["staging"]),
        want("D", type_="sensitive", target=["development"]), want("E", comment="x" * 600),
        want("F", target=["production"]), want("F", target=["production", "preview"]),
        want("TZ"), want("VERCEL_URL"), want("G", target=["production"], gitBranch="main"),
        want("H", target=["preview"], gitBranch="feature"),
    ])
    assert errors == [
        "'1A' is not a valid variable name (letters, digits, _; not starting with a digit)",
        "B: target must be a non-empty list of production, preview, development",
        "C: target must be a non-empty list of production, preview, development (unknown: staging)",
        "D: sensitive variables cannot target development (Vercel refuses it)",
        "E: comment is longer than Vercel allows with the module's marker",
        "TZ: the name is reserved by Vercel and cannot be set",
        "VERCEL_URL: the name is reserved by Vercel and cannot be set",
        "G: git_branch applies to the preview target only (Vercel refuses it with other targets)",
        "F: given twice for overlapping targets",
    ]


def test_a_failed_replacement_restores_what_was_read() -> None:
    plain = {**stored("A"), "type": "plain", "gitBranch": "feature"}
    assert restore_payload(plain, "new") == {
        "key": "A", "type": "plain", "target": sorted(plain["target"]), "comment": plain["comment"],
        "value": plain["value"], "gitBranch": "feature"}
    sensitive = {k: v for k, v in stored("A").items() if k != "value"} | {"type": "sensitive"}
    assert restore_payload(sensitive, "new")["value"] == "new", "a sensitive value cannot be read back"


def test_conflicts_are_worded_whole() -> None:
    same = plan([want("A")], [stored("A", managed=False)], secret=SECRET)
    assert same.conflicts == [
        "A: Vercel already has it for the same targets (id-A for preview, production (not managed by this "
        "module)); set adopt: true to let the module take it over and overwrite its value, or remove it"]
    overlapping = plan([want("A")], [stored("A", target=("production",), env_id="id-1"),
                                     stored("A", target=("preview",), managed=False, env_id="id-2")],
                       secret=SECRET)
    assert overlapping.conflicts == [
        "A: Vercel already has it for overlapping targets (id-1 for production; id-2 for preview (not "
        "managed by this module)); give it the same targets or remove the other variable"]


def test_taking_targets_off_shows_what_stays() -> None:
    result = plan([{"key": "A", "target": ["production"]}], [stored("A", value="plain-v", type_="plain")],
                  state="absent", secret=SECRET)
    assert result.patch == [("id-A", {"target": ["preview"]})]
    assert result.before == {"A": [{"target": ["preview", "production"], "type": "plain", "comment": "",
                                    "value": "plain-v"}]}
    assert result.after == {
        "A": [{"target": ["preview"], "type": "plain", "comment": "", "value": "plain-v"}]}
    hidden = plan([{"key": "A", "target": ["production"]}], [stored("A")], state="absent", secret=SECRET)
    assert hidden.before["A"][0]["value"] == "********"
    assert hidden.after["A"][0]["value"] == "(unchanged value)"


def test_a_variable_is_restored_as_it_was_read() -> None:
    assert restore_payload({"key": "A", "target": ["production", "preview"], "value": "v"}, "new") == {
        "key": "A", "type": "encrypted", "target": ["preview", "production"], "comment": "", "value": "v"}
    assert restore_payload({"key": "S", "type": "sensitive", "target": ["production"], "value": "",
                            "comment": "c", "gitBranch": "main"}, "new") == {
        "key": "S", "type": "sensitive", "target": ["production"], "comment": "c", "value": "new",
        "gitBranch": "main"}
    assert restore_payload({"key": "P", "type": "plain"}, "new")["value"] == "new"


def test_a_sensitive_value_is_judged_by_its_fingerprint_alone() -> None:
    fp_for_v1 = stored("S", value="v1", type_="plain")
    as_sensitive = {**fp_for_v1, "type": "sensitive", "value": "v2"}  # what Vercel never returns
    unchanged = plan([want("S", value="v1", type_="sensitive")], [as_sensitive], secret=SECRET)
    assert (unchanged.upsert, unchanged.replace, unchanged.updated) == ([], [], [])
    assert plan([want("S", value="v1")], [{**fp_for_v1, "type": "encrypted", "value": "v2"}],
                secret=SECRET).upsert, "a readable value is compared as well"


def test_a_new_value_moved_off_production_still_needs_a_redeploy() -> None:
    result = plan([want("A", "v2", target=["preview"])], [stored("A", "v1")], secret=SECRET)
    assert result.updated == ["A"] and result.redeploy_needed
    result = plan([want("A", "v2", target=["production", "preview"])],
                  [stored("A", "v1", target=["preview"])],
                  secret=SECRET)
    assert result.redeploy_needed


def test_the_diff_notes_say_what_happens_to_the_value() -> None:
    moved = plan([want("A", target=["production"])], [stored("A")], secret=SECRET)
    assert moved.after["A"][0]["value"] == "(unchanged value)"
    new = plan([want("B")], [], secret=SECRET)
    assert new.after["B"][0]["value"] == "(new value)"


def test_when_each_target_last_changed() -> None:
    envs = [{**stored("A"), "updatedAt": 5, "createdAt": 1},
            {**stored("B", target=["preview"]), "createdAt": 9},
            {**stored("C", target=["development"])}]
    result = plan([], envs, secret=SECRET)
    assert result.last_change == {"production": 5, "preview": 9, "development": 0}
    assert plan([], [], secret=SECRET).last_change == {"production": 0, "preview": 0, "development": 0}


def test_a_comment_at_the_limit_is_accepted_and_one_over_refused() -> None:
    room = 500 - len(compose_comment("", "0" * 16)) - 1  # the comment, a space, the marker: 500
    assert desired_errors([want("A", comment="x" * room)]) == []
    assert desired_errors([want("A", comment="x" * (room + 1))]) == [
        "A: comment is longer than Vercel allows with the module's marker"]


def test_a_missing_or_unknown_name_is_named() -> None:
    assert desired_errors([{"value": "v", "target": ["production"], "type": "plain"}]) == [
        "'' is not a valid variable name (letters, digits, _; not starting with a digit)"]
    assert desired_errors([want("C", target=["staging", "qa"])]) == [
        "C: target must be a non-empty list of production, preview, development (unknown: qa, staging)"]


def test_an_unmanaged_variable_is_not_adopted_by_default() -> None:
    result = plan([want("A")], [stored("A", managed=False)], secret=SECRET)
    assert result.conflicts and not result.changed


def test_a_hand_written_comment_without_the_marker_is_kept_whole() -> None:
    assert split_comment(None) == ("", None)
    assert split_comment("") == ("", None)
