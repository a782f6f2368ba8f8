"""Decide what vercel_env must write: the desired variables against one list of what Vercel has.

Pure functions, no I/O, so every rule is unit-tested. Values of sensitive variables cannot be
read back; each managed variable's comment therefore ends with a marker holding a keyed
fingerprint (HMAC-SHA256 under a secret the caller chooses) of its value. The marker also says
which variables this module manages: prune deletes those and nothing else.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field

TARGETS = ("production", "preview", "development")
TYPES = ("encrypted", "sensitive", "plain")
KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MARKER = re.compile(r"\s*\[flowspace\.infra fp=([0-9a-f]{16})\]$")
MAX_COMMENT = 500
HIDDEN = "********"
# Names Vercel refuses (its "Reserved environment variables" page, and system variables that
# every deployment gets and the API will not let a project define).
RESERVED_KEYS = frozenset({
    "AWS_SECRET_KEY", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "NOW_REGION", "TZ", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    "VERCEL_URL", "VERCEL_ENV", "VERCEL_REGION", "VERCEL_BRANCH_URL", "VERCEL_DEPLOYMENT_ID",
    "VERCEL_PROJECT_PRODUCTION_URL",
})


def fingerprint(secret, key, value):
    digest = hmac.new(secret.encode(), f"{key}\0{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def split_comment(comment):
    """(the user's part of the comment, the fingerprint or None)."""
    comment = comment or ""
    match = MARKER.search(comment)
    return (comment[:match.start()], match.group(1)) if match else (comment, None)


def compose_comment(user_comment, fp):
    return f"{user_comment} [flowspace.infra fp={fp}]".lstrip()


def is_managed(env):
    return split_comment(env.get("comment"))[1] is not None


def desired_errors(variables):
    """Problems with the requested variables, each naming the key."""
    errors = []
    for var in variables:
        key = var.get("key", "")
        if not KEY_PATTERN.match(key or ""):
            errors.append(f"{key!r} is not a valid variable name "
                          "(letters, digits, _; not starting with a digit)")
        targets = var.get("target") or []
        unknown = sorted(set(targets) - set(TARGETS))
        if not targets or unknown:
            errors.append(f"{key}: target must be a non-empty list of {', '.join(TARGETS)}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        if key in RESERVED_KEYS:
            errors.append(f"{key}: the name is reserved by Vercel and cannot be set")
        if var.get("gitBranch") and list(targets) != ["preview"]:
            errors.append(f"{key}: git_branch applies to the preview target only (Vercel refuses it "
                          "with other targets)")
        if var.get("type") == "sensitive" and "development" in targets:
            errors.append(f"{key}: sensitive variables cannot target development (Vercel refuses it)")
        if len(compose_comment(var.get("comment") or "", "0" * 16)) > MAX_COMMENT:
            errors.append(f"{key}: comment is longer than Vercel allows with the module's marker")
    seen = []
    for var in variables:
        clash = [other for other in seen if _same_slot(other, var)]
        if clash:
            errors.append(f"{var.get('key')}: given twice for overlapping targets")
        seen.append(var)
    return errors


def _same_slot(a, b):
    return (a.get("key") == b.get("key")
            and (a.get("gitBranch") or None) == (b.get("gitBranch") or None)
            and bool(set(a.get("target") or []) & set(b.get("target") or [])))


@dataclass
class Plan:
    create: list = field(default_factory=list)   # payloads for one POST
    upsert: list = field(default_factory=list)   # payloads for one POST ?upsert=true (same targets)
    patch: list = field(default_factory=list)    # (env id, changes) for PATCH
    delete: list = field(default_factory=list)   # env ids for one batch DELETE
    replace: list = field(default_factory=list)  # (env as read, payload): a type change, one by one
    conflicts: list = field(default_factory=list)
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    deleted: list = field(default_factory=list)
    redeploy_needed: bool = False
    last_change: dict = field(default_factory=dict)  # target -> when a variable of it last changed
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    @property
    def changed(self):
        return bool(self.create or self.upsert or self.patch or self.delete or self.replace)


def _payload(var, secret):
    payload = {
        "key": var["key"], "value": var["value"], "type": var["type"],
        "target": sorted(var["target"]),
        "comment": compose_comment(var.get("comment") or "", fingerprint(secret, var["key"], var["value"])),
    }
    if var.get("gitBranch"):
        payload["gitBranch"] = var["gitBranch"]
    return payload


def _shown(env, value_note):
    """A variable as the diff shows it: a plain value as it is (Vercel shows it to everyone on
    the project), any other value only as a note (hidden, new, changed, unchanged)."""
    plain = env.get("type") == "plain" and isinstance(env.get("value"), str)
    shown = {"target": sorted(env.get("target") or []), "type": env.get("type"),
             "comment": split_comment(env.get("comment"))[0], "value": env["value"] if plain else value_note}
    if env.get("gitBranch"):
        shown["gitBranch"] = env["gitBranch"]
    return shown


def _same_value(existing, var, secret):
    fp = split_comment(existing.get("comment"))[1]
    if existing.get("type") == "sensitive" or "value" not in existing:
        return fp == fingerprint(secret, var["key"], var["value"])
    return existing.get("value") == var["value"] and fp == fingerprint(secret, var["key"], var["value"])


def _conflict(var, candidates):
    owners = "; ".join(f"{env['id']} for {', '.join(sorted(env.get('target') or []))}"
                       + ("" if is_managed(env) else " (not managed by this module)")
                       for env in candidates)
    if len(candidates) == 1 and sorted(candidates[0].get("target") or []) == sorted(var["target"]):
        return (f"{var['key']}: Vercel already has it for the same targets ({owners}); set adopt: true "
                "to let the module take it over and overwrite its value, or remove it")
    return (f"{var['key']}: Vercel already has it for overlapping targets ({owners});"
            " give it the same targets or remove the other variable")


class _Planner:
    def __init__(self, secret, adopt=False):
        self.secret, self.result, self.claimed, self.adopt = secret, Plan(), set(), adopt

    def touches_production(self, *target_lists):
        if any("production" in (targets or []) for targets in target_lists):
            self.result.redeploy_needed = True

    def remove_targets(self, env, targets):
        """Take the listed targets off a variable: edit it when others remain, else delete it."""
        remaining = sorted(set(env.get("target") or []) - set(targets))
        if not remaining:
            self.remove(env)
            return
        self.result.patch.append((env["id"], {"target": remaining}))
        self.result.updated.append(env["key"])
        self.result.before.setdefault(env["key"], []).append(_shown(env, HIDDEN))
        self.result.after.setdefault(env["key"], []).append(_shown({**env, "target": remaining},
                                                                   "(unchanged value)"))
        self.touches_production(targets)  # production's value changes only if production goes

    def remove(self, env):
        self.result.delete.append(env["id"])
        self.result.deleted.append(env["key"])
        self.result.before.setdefault(env["key"], []).append(_shown(env, HIDDEN))
        self.touches_production(env.get("target"))

    def create(self, var, payload):
        self.result.create.append(payload)
        self.result.created.append(var["key"])
        self.result.after.setdefault(var["key"], []).append(_shown(payload, "(new value)"))
        self.touches_production(payload["target"])

    def present(self, var, candidates):
        payload = _payload(var, self.secret)
        if not candidates:
            self.create(var, payload)
            return
        env = candidates[0]
        exact = sorted(env.get("target") or []) == payload["target"]
        if len(candidates) > 1 or not (is_managed(env) or (exact and self.adopt)):
            self.result.conflicts.append(_conflict(var, candidates))
            return
        self.claimed.add(env["id"])
        same_value = _same_value(env, var, self.secret)
        if (exact and same_value and env.get("type") == payload["type"]
                and (env.get("comment") or "") == payload["comment"]):
            return
        result = self.result
        result.updated.append(var["key"])
        result.before.setdefault(var["key"], []).append(_shown(env, HIDDEN))
        value_note = "(unchanged value)" if same_value else "(changed value)"
        result.after.setdefault(var["key"], []).append(_shown(payload, value_note))
        if same_value and env.get("type") == payload["type"]:
            # Same value: only a target that is added or taken away changes what a build sees.
            self.touches_production(sorted(set(env.get("target") or []) ^ set(payload["target"])))
        else:
            self.touches_production(env.get("target"), payload["target"])
        if env.get("type") != payload["type"]:
            # Vercel does not turn a variable into (or out of) sensitive in place: it is deleted
            # and created again, one at a time, so a refused create can put the old one back.
            result.replace.append((env, payload))
        elif exact:
            result.upsert.append(payload)
        else:
            result.patch.append((env["id"], {k: v for k, v in payload.items() if k != "key"}))


def restore_payload(env, fallback_value):
    """The variable as it was read, for putting it back after a failed replacement. A sensitive
    value cannot be read back: it is restored with the value the run was writing."""
    payload = {"key": env["key"], "type": env.get("type") or "encrypted",
               "target": sorted(env.get("target") or []), "comment": env.get("comment") or "",
               "value": env["value"] if "value" in env and env.get("type") != "sensitive" else fallback_value}
    if env.get("gitBranch"):
        payload["gitBranch"] = env["gitBranch"]
    return payload


def last_change(envs, target):
    """When a variable of the target last changed, in ms since the epoch (0 when none has)."""
    return max((env.get("updatedAt") or env.get("createdAt") or 0
                for env in envs if target in (env.get("target") or [])), default=0)


def plan(variables, existing, state="present", prune=False, secret="", *, adopt=False):
    planner = _Planner(secret, adopt)
    planner.result.last_change = {target: last_change(existing, target) for target in TARGETS}
    for var in variables:
        candidates = [env for env in existing if _same_slot(env, var)]
        if state == "absent":
            for env in candidates:
                planner.remove_targets(env, var["target"])
        else:
            planner.present(var, candidates)
    if prune and state == "present":
        # Every managed variable that no declared one took: also the old one of a key whose
        # targets moved (declared for production now, still stored for development).
        for env in existing:
            if env["id"] not in planner.claimed and is_managed(env):
                planner.remove(env)
    return planner.result
