#!/usr/bin/python
"""Declare a Vercel project's environment variables."""

DOCUMENTATION = r"""
module: vercel_env
short_description: Declare a Vercel project's environment variables
description:
  - Makes the project's environment variables match O(variables) with one (paginated) list
    request and batched writes (one create, one upsert, one batch delete, and an edit only for
    a variable whose targets change).
  - Idempotent for C(sensitive) variables too, whose values Vercel never returns; each managed
    variable's comment ends with C([flowspace.infra fp=...]), a keyed fingerprint (HMAC-SHA256
    under O(fingerprint_key)) of its value. No value and no unkeyed hash of one is stored anywhere.
  - That marker is also how O(prune) knows which variables this module manages; it never
    deletes any other.
  - Rate limits (429, honouring Retry-After), server errors and timeouts are retried up to
    O(retries) times, except that a create or delete whose answer is lost (timeout, dropped
    connection, 5xx) is never sent blindly again, since Vercel may have applied it; the module
    re-reads the variables and applies only what the fresh plan still needs. The same happens
    when a variable it edits or deletes disappears while it runs.
  - Checks Vercel's documented constraints before any request (reserved names such as C(TZ)
    or C(VERCEL_URL), O(variables[].git_branch) only with the C(preview) target, no
    C(sensitive) variable for C(development)); when Vercel refuses items anyway, its reason
    for each key is in the error.
  - When a run fails after some writes went through, the result says C(changed) and lists
    them in RV(written).
version_added: 0.2.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment:
  - flowspace.infra.vercel
  - flowspace.infra.vercel.project
  - flowspace.infra.check_and_diff
options:
  variables:
    description: The variables to declare.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Variable name.
        type: str
        required: true
      value:
        description: Its value (required with O(state=present)).
        type: str
      target:
        description: Environments it applies to.
        type: list
        elements: str
        choices: [production, preview, development]
        default: [production, preview, development]
      type:
        description: C(sensitive) values are never readable again (not allowed for C(development)).
        type: str
        choices: [encrypted, sensitive, plain]
        default: encrypted
      git_branch:
        description: Limit a C(preview) variable to one git branch.
        type: str
      comment:
        description: Free text shown in Vercel; the module appends its marker.
        type: str
        default: ""
  state:
    description:
      - C(absent) removes the listed keys for the listed targets only. A variable stored for
        more targets keeps the others (it is edited); one left with no target is deleted.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Also delete variables this module manages that no entry of O(variables) takes, including
        the old variable of a key whose targets moved to ones it does not overlap.
    type: bool
    default: false
  adopt:
    description:
      - A variable with the same key and exactly the same targets that this module did not
        create is refused by default, like one on overlapping targets (it may belong to someone
        else). With C(true) the module takes it over, overwrites its value and manages it from
        then on.
    type: bool
    default: false
  fingerprint_key:
    description:
      - Secret that keys the value fingerprints. Defaults to O(token). Anyone who holds this key
        and can read the comments can test guesses of a C(sensitive) value against its
        fingerprint, so for low-entropy values do not let it be the API token; give a separate,
        random secret (the project's Vercel play generates one and keeps it on the controller).
        A stable key also means rotating the token does not rewrite every managed variable.
    type: str
attributes:
  check_mode:
    details: Reads the variables; sends no write request.
  diff_mode:
    details: Plain values are shown as they are; other values only as whether they change.
"""

EXAMPLES = r"""
- name: Point the app at the realtime backend
  flowspace.infra.vercel_env:
    token: "{{ vault_vercel_token }}"
    team_id: team_abc123
    project: flowspace
    prune: true
    variables:
      - key: NEXT_PUBLIC_SOCKET_URL
        value: https://space-socket.example.com
        type: plain
      - key: LIVEKIT_API_SECRET
        value: "{{ livekit_api_secret }}"
        type: sensitive
        target: [production, preview]
  register: env_sync

- name: Redeploy when a production value changed
  flowspace.infra.vercel_deploy:
    token: "{{ vault_vercel_token }}"
    project: flowspace
  when: env_sync.redeploy_needed
"""

RETURN = r"""
created:
  description: Keys created.
  returned: always
  type: list
  elements: str
updated:
  description: Keys whose value, type, targets or comment changed.
  returned: always
  type: list
  elements: str
deleted:
  description: Keys deleted (O(state=absent) or O(prune)).
  returned: always
  type: list
  elements: str
redeploy_needed:
  description: Whether a variable targeting production changed; only a new deployment sees it.
  returned: always
  type: bool
written:
  description: The writes Vercel confirmed (or may have applied), when the run failed part way.
  returned: on failure after a write
  type: list
  elements: str
requests:
  description: How many API requests the run sent (list pages included).
  returned: always
  type: int
last_change:
  description:
    - Per target, when one of its variables last changed before this run's writes (ms since the
      epoch, 0 for none), as the list read shows it.
    - Hand it to M(flowspace.infra.vercel_deploy)'s O(flowspace.infra.vercel_deploy#module:last_change)
      to spare its own read.
  returned: always
  type: dict
  sample: {"production": 1765000000000, "preview": 1765000000000, "development": 0}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils.masking import masking_exits
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import (
    AmbiguousWrite,
    VercelClient,
    VercelError,
    api_argument_spec,
    explain,
)
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import (
    desired_errors,
    plan,
    restore_payload,
)


def requested_variables(params):
    variables = []
    for var in params["variables"]:
        if params["state"] == "present" and var.get("value") is None:
            raise ValueError(f"{var['key']}: value is required with state=present")
        variables.append({
            "key": var["key"], "value": var.get("value") or "", "type": var["type"],
            "target": sorted(set(var["target"])), "gitBranch": var.get("git_branch"),
            "comment": var.get("comment") or "",
        })
    return variables


class PartialWrite(Exception):
    """A write failed after others of the run went through."""

    def __init__(self, error, written):
        super().__init__(str(error))
        self.error, self.written = error, written


def apply(client, project, changes, written):
    """Deletes first, then one create, one upsert, the type changes one by one, then edits.
    Appends a short record of each write Vercel confirmed to `written`; returns the items a
    batch create refused."""
    failed = []
    if changes.delete:
        client.delete_envs(project, changes.delete)
        written.append(f"deleted {len(changes.delete)} variable(s)")
    for items, upsert in ((changes.create, False), (changes.upsert, True)):
        if items:
            try:
                answer = client.create_env(project, items, upsert=upsert)
            except VercelError as error:
                failed_items = error.details.get("failed")
                if error.status != 400 or not isinstance(failed_items, list):
                    raise
                failed += failed_items  # Vercel refused the whole batch, item by item
                continue
            failed += answer.get("failed") or []
            created = answer.get("created")
            count = len(created) if isinstance(created, list) else int(bool(created))
            if count:
                written.append(f"{'upserted' if upsert else 'created'} {count} variable(s)")
    for env, payload in changes.replace:
        replace_type(client, project, env, payload, written)
    for env_id, body in changes.patch:
        client.edit_env(project, env_id, body)
        written.append(f"edited variable {env_id}")
    return failed


class ReplaceFailed(Exception):
    """A type change whose create failed; says what the variable is now."""


def replace_type(client, project, env, payload, written):
    """Delete the variable and create it with its new type; when the create fails, put the old
    one back, so a refused or failed change never loses the variable."""
    key = env["key"]
    client.delete_envs(project, [env["id"]])
    try:
        client.create_env(project, payload)
    except VercelError as error:
        if isinstance(error, AmbiguousWrite) and find(client, project, payload):
            written.append(f"changed {key} to {payload['type']}")
            return
        try:
            client.create_env(project, restore_payload(env, payload["value"]))
        except VercelError as restore_error:
            if not find(client, project, env):
                raise ReplaceFailed(
                    f"{key}: changing its type from {env.get('type')} to {payload['type']} failed "
                    f"({error}) and putting the old variable back failed too ({restore_error}): "
                    f"{key} is now MISSING from project {project!r}; run again to create it") from error
        kept = "with its old value" if env.get("type") != "sensitive" else "holding the new value"
        raise ReplaceFailed(
            f"{key}: changing its type from {env.get('type')} to {payload['type']} failed ({error}); "
            f"the variable was put back as {env.get('type')} {kept}, so nothing was lost; "
            "run again to retry the change") from error
    written.append(f"changed {key} to {payload['type']}")


def find(client, project, wanted):
    """Whether Vercel now holds a variable of this key, type and targets."""
    return any(env.get("key") == wanted["key"] and env.get("type") == wanted.get("type")
               and sorted(env.get("target") or []) == sorted(wanted.get("target") or [])
               for env in client.list_env(project))


def changed_under_us(error):
    """A write whose outcome is unknown, or one that found its variable gone: re-read and re-plan."""
    return isinstance(error, AmbiguousWrite) or (
        error.status == 404 and error.method in ("PATCH", "DELETE") and "/env" in error.path)


def sync(client, params, variables, secret, check_mode):
    """Plan from one list; apply; when a write's outcome is unknown, re-read and apply what the
    fresh plan still needs. Returns (the first plan, refused items, writes confirmed)."""
    project = params["project"]

    def make_plan():
        changes = plan(variables, client.list_env(project), params["state"], params["prune"], secret,
                       adopt=params["adopt"])
        if changes.conflicts:
            raise ConflictError("; ".join(changes.conflicts))
        return changes

    first = changes = make_plan()
    written = []
    if check_mode or not first.changed:
        return first, [], written
    for _attempt in range(params["retries"] + 1):
        try:
            return first, apply(client, project, changes, written), written
        except VercelError as error:
            if not changed_under_us(error):
                raise PartialWrite(error, written) from error
            written.append(f"{error.method} {error.path} may have been applied ({error.code})")
            changes = make_plan()
            if not changes.changed:
                return first, [], written
    raise PartialWrite(VercelError(-1, "unsettled", "the variables kept changing under the module "
                                   f"after {params['retries'] + 1} attempt(s)"), written)


class ConflictError(Exception):
    pass


def main():
    argument_spec = dict(
        project=dict(type="str", required=True),
        variables=dict(type="list", elements="dict", default=[], options=dict(
            key=dict(type="str", required=True, no_log=False),
            # Masked by the module itself, only for encrypted and sensitive variables (see
            # module_utils/masking.py): Ansible's masking would garble text around plain values.
            value=dict(type="str", no_log=False),
            target=dict(type="list", elements="str", choices=["production", "preview", "development"],
                        default=["production", "preview", "development"]),
            type=dict(type="str", choices=["encrypted", "sensitive", "plain"], default="encrypted"),
            git_branch=dict(type="str"),
            comment=dict(type="str", default=""),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        prune=dict(type="bool", default=False),
        adopt=dict(type="bool", default=False),
        fingerprint_key=dict(type="str", no_log=True),
    )
    argument_spec.update(api_argument_spec())
    module = masking_exits(AnsibleModule(argument_spec=argument_spec, supports_check_mode=True))
    params = module.params

    try:
        variables = requested_variables(params)
    except ValueError as error:
        module.fail_json(msg=str(error))
    errors = desired_errors(variables)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = VercelClient(module)
    project = params["project"]
    secret = params["fingerprint_key"] or params["token"]
    try:
        changes, failed, written = sync(client, params, variables, secret, module.check_mode)
    except ConflictError as error:
        module.fail_json(msg=str(error), requests=len(client.requests))
    except ReplaceFailed as error:
        module.fail_json(msg=str(error), changed=True, requests=len(client.requests))
    except PartialWrite as partial:
        error = partial.error
        module.fail_json(msg=explain_env(error, project, client), status=error.status, code=error.code,
                         changed=bool(partial.written), written=partial.written,
                         requests=len(client.requests))
    except VercelError as error:
        module.fail_json(msg=explain_env(error, project, client), status=error.status, code=error.code,
                         requests=len(client.requests))
    if failed:
        module.fail_json(msg=f"Vercel refused some variables: {refusal_reasons(failed)}",
                         changed=bool(written), written=written, requests=len(client.requests))

    result = dict(
        changed=changes.changed, created=changes.created, updated=changes.updated,
        deleted=changes.deleted, redeploy_needed=changes.redeploy_needed, requests=len(client.requests),
        last_change=changes.last_change,
    )
    if module._diff:
        result["diff"] = dict(before=changes.before, after=changes.after)
    module.exit_json(**result)


def refusal_reasons(failed):
    """Vercel's per-item reasons for a refused create, each naming its key."""
    reasons = []
    for item in failed:
        error = item.get("error") or item
        reason = f"{error.get('key', '?')}: {error.get('code')} {error.get('message')}"
        if error.get("code") == "ENV_CONFLICT":
            reason += " (another variable holds this key for an overlapping target; changed while this ran?)"
        reasons.append(reason)
    return "; ".join(reasons)


def explain_env(error, project, client):
    """The variables' own errors; the token, project and URL ones as every module says them."""
    variable = re.search(r"/env/([^/]+)$", error.path or "")
    if error.status == 404 and variable:
        return (f"variable {variable.group(1)} of project {project!r} no longer exists "
                f"(deleted while this ran?); run again to re-plan. {error}")
    if error.status == 404 and error.method == "DELETE":
        return (f"a variable to remove from project {project!r} no longer exists "
                f"(deleted while this ran?); run again to re-plan. {error}")
    if error.code == "ENV_CONFLICT":
        return f"Vercel reports a conflicting variable (changed while this ran?): {error}"
    if isinstance(error.details.get("failed"), list):
        return f"Vercel refused the variables: {refusal_reasons(error.details['failed'])} ({error})"
    return explain(error, project, client)


if __name__ == "__main__":
    main()
