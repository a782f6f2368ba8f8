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
    O(retries) times.
version_added: 0.2.0
author: FlowSpace infra
extends_documentation_fragment: [flowspace.infra.vercel]
options:
  project:
    description: The project's id or name.
    type: str
    required: true
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
        no_log: true
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
    description: C(absent) deletes the listed keys (for the listed targets).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description: Also delete variables this module manages that are not in O(variables).
    type: bool
    default: false
  fingerprint_key:
    description:
      - Secret that keys the value fingerprints. Defaults to O(token); set a stable vault secret
        so that rotating the token does not rewrite every managed variable once.
    type: str
  token:
    description: Vercel API token (Bearer).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    details: Reads the variables; sends no write request.
  diff_mode:
    support: full
    details: Values are never shown, only whether they change.
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
requests:
  description: How many API requests the run sent (list pages included).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import (
    VercelClient,
    VercelError,
    api_argument_spec,
)
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import desired_errors, plan


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


def apply(client, project, changes):
    """Deletes first (a type change recreates), then one create, one upsert, then edits."""
    failed = []
    if changes.delete:
        client.delete_envs(project, changes.delete)
    for items, upsert in ((changes.create, False), (changes.upsert, True)):
        if items:
            answer = client.create_env(project, items, upsert=upsert)
            failed += answer.get("failed") or []
    for env_id, body in changes.patch:
        client.edit_env(project, env_id, body)
    return failed


def main():
    argument_spec = dict(
        project=dict(type="str", required=True),
        variables=dict(type="list", elements="dict", default=[], options=dict(
            key=dict(type="str", required=True, no_log=False),
            value=dict(type="str", no_log=True),
            target=dict(type="list", elements="str", choices=["production", "preview", "development"],
                        default=["production", "preview", "development"]),
            type=dict(type="str", choices=["encrypted", "sensitive", "plain"], default="encrypted"),
            git_branch=dict(type="str"),
            comment=dict(type="str", default=""),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        prune=dict(type="bool", default=False),
        fingerprint_key=dict(type="str", no_log=True),
    )
    argument_spec.update(api_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
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
        existing = client.list_env(project)
        changes = plan(variables, existing, params["state"], params["prune"], secret)
        if changes.conflicts:
            module.fail_json(msg="; ".join(changes.conflicts), requests=len(client.requests))
        failed = [] if module.check_mode else apply(client, project, changes)
    except VercelError as error:
        module.fail_json(msg=explain(error, project), status=error.status, code=error.code,
                         requests=len(client.requests))
    if failed:
        errors = [item.get("error") or {} for item in failed]
        reasons = "; ".join(f"{e.get('key', '?')}: {e.get('code')} {e.get('message')}" for e in errors)
        module.fail_json(msg=f"Vercel refused some variables: {reasons}", requests=len(client.requests))

    result = dict(
        changed=changes.changed, created=changes.created, updated=changes.updated,
        deleted=changes.deleted, redeploy_needed=changes.redeploy_needed, requests=len(client.requests),
    )
    if module._diff:
        result["diff"] = dict(before=changes.before, after=changes.after)
    module.exit_json(**result)


def explain(error, project):
    if error.status == 403:
        return f"Vercel refused the token (403 {error.code}): check token and team scope. {error}"
    if error.status == 404:
        return (f"Vercel has no project {project!r} in this scope (404): check project and "
                f"team_id/team_slug. {error}")
    if error.code == "ENV_CONFLICT":
        return f"Vercel reports a conflicting variable (changed while this ran?): {error}"
    return f"Vercel API error: {error}"


if __name__ == "__main__":
    main()
