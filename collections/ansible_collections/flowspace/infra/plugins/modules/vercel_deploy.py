#!/usr/bin/python
"""Start a new production deployment of a Vercel project."""

DOCUMENTATION = r"""
module: vercel_deploy
short_description: Redeploy a Vercel project's production deployment, or call a deploy hook
description:
  - Without O(hook_url), redeploys the project's latest READY production deployment through the
    API (C(GET /v6/deployments), then C(POST /v13/deployments?forceNew=1)); the new deployment
    is built with the project's current environment variables.
  - With O(hook_url), calls that deploy hook instead (no token needed, no deployment to wait for).
  - By default always starts one and reports a change; guard it with C(when), for example on
    the C(redeploy_needed) result of M(flowspace.infra.vercel_env).
  - With O(only_if_stale), it redeploys only when the deployed state calls for it. When the
    newest READY deployment of O(target) was created before the last change to a variable for
    that target (Vercel's C(updatedAt)), a redeploy is due, whoever changed the variable and
    whether or not an earlier redeploy failed or never ran. A deployment already building since
    that change is waited for instead of started twice (and replaced if it fails). A variable
    deleted leaves no timestamp behind, so the caller still passes C(only_if_stale=false) for a
    run that deleted one (M(flowspace.infra.vercel_env)'s C(redeploy_needed)); the deployments
    this module starts carry C(meta.flowspaceRedeploy), so when such a redeploy fails to build,
    later runs see it is still owed until a deployment of O(target) is READY again.
  - Deployments are read as the API lists them (C(uid) and C(state)) or returns one
    (C(id) and C(readyState)); a newest deployment still queued or building is waited for.
version_added: 0.2.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.vercel, flowspace.infra.check_and_diff.check_only]
options:
  project:
    description: The project's id or name (not needed with O(hook_url)).
    type: str
  hook_url:
    description:
      - A deploy hook URL (C(.../v1/integrations/deploy/PROJECT/HOOK)); it is a secret.
      - With O(only_if_stale), O(project) and O(token) are also needed, to read the state.
    type: str
  only_if_stale:
    description: Redeploy only when the newest READY deployment predates the last variable change.
    type: bool
    default: false
  project_id:
    description:
      - The project's id, when the caller has read the project already (the preflight does);
        spares the project read unless a redeploy is started.
    type: str
  last_change:
    description:
      - With O(only_if_stale), when a variable of O(target) last changed (ms since the epoch), as
        M(flowspace.infra.vercel_env) returns it in RV(flowspace.infra.vercel_env#module:last_change);
        spares reading the variables again.
    type: int
  target:
    description: Which deployment to redeploy.
    type: str
    default: production
  wait:
    description: Wait until the new deployment is READY (fail when it ends in ERROR or CANCELED).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 900
  poll_interval:
    description: Seconds between state checks while waiting.
    type: float
    default: 5
  token:
    description: Vercel API token (Bearer); not needed with O(hook_url).
    type: str
attributes:
  check_mode:
    details: Reports the deployment it would start; sends no write (O(only_if_stale) reads the state).
"""

EXAMPLES = r"""
- name: Redeploy production and wait for it
  flowspace.infra.vercel_deploy:
    token: "{{ vault_vercel_token }}"
    project: flowspace
    wait_timeout: 600

- name: Or through a deploy hook
  flowspace.infra.vercel_deploy:
    hook_url: "{{ vault_vercel_deploy_hook }}"
"""

RETURN = r"""
stale:
  description: Why a redeploy was due, or null when the newest READY deployment is current.
  returned: with O(only_if_stale)
  type: str
deployment:
  description: The new deployment (id, url, readyState) when redeployed through the API.
  returned: when redeployed through the API, not in check mode
  type: dict
job:
  description: The deploy hook's job (id, state, createdAt).
  returned: when a hook was called, not in check mode
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import (
    AmbiguousWrite,
    VercelClient,
    VercelError,
    api_argument_spec,
    deployment_id,
    deployment_state,
    explain,
)
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import last_change

FINAL_STATES = ("READY", "ERROR", "CANCELED")
IN_PROGRESS = ("QUEUED", "BUILDING", "INITIALIZING")
# Stamped on the deployments this module starts, so a later run can tell that a redeploy it owed
# (for a change no timestamp records, such as a deleted variable) failed and is still owed.
META_KEY = "flowspaceRedeploy"


def wait_until_final(module, client, deployment, fail=True):
    deadline = time.monotonic() + module.params["wait_timeout"]
    while deployment_state(deployment) not in FINAL_STATES:
        if time.monotonic() > deadline:
            module.fail_json(msg=f"deployment {deployment_id(deployment)} is still "
                                 f"{deployment_state(deployment)} after {module.params['wait_timeout']}s",
                             deployment=summary(deployment))
        time.sleep(module.params["poll_interval"])
        deployment = client.deployment(deployment_id(deployment))
    if deployment_state(deployment) != "READY" and fail:
        module.fail_json(msg=f"deployment {deployment_id(deployment)} ended {deployment_state(deployment)}",
                         deployment=summary(deployment))
    return deployment


def summary(deployment):
    return {"id": deployment_id(deployment), "url": deployment.get("url"),
            "readyState": deployment_state(deployment)}


def created_at(deployment):
    return deployment.get("createdAt") or deployment.get("created") or 0


def owed_by_us(deployment):
    return bool((deployment.get("meta") or {}).get(META_KEY))


def staleness(module, client, project_id, target):  # noqa: PLR0911 (one verdict per case)
    """Why a redeploy is due, or None when the newest READY deployment postdates the last change."""
    changed = module.params["last_change"]
    if changed is None:
        changed = last_change(client.list_env(project_id), target)
    deployments = client.recent_deployments(project_id, target)
    ready = [d for d in deployments if deployment_state(d) == "READY"]
    newest_ready = created_at(max(ready, key=created_at)) if ready else 0
    # A redeploy this module started after the newest READY one, for a change it saw, that did
    # not build: still owed, whether or not a variable's timestamp shows the change.
    owed = [d for d in deployments if owed_by_us(d) and created_at(d) > newest_ready]
    building = [d for d in deployments if deployment_state(d) in IN_PROGRESS and created_at(d) > changed]
    if ready and newest_ready > changed and not owed:
        return None
    if building and module.params["wait"] and not module.check_mode:
        finished = wait_until_final(module, client, max(building, key=created_at), fail=False)
        if deployment_state(finished) == "READY":
            return None
        return f"the deployment started after the last change ended {deployment_state(finished)}"
    if building:
        return None  # one is on its way with the current variables
    if owed and newest_ready > changed:
        failed = max(owed, key=created_at)
        return (f"the redeploy started for an earlier change ({deployment_id(failed)}) ended "
                f"{deployment_state(failed)} and no {target} deployment is READY since")
    if not ready:
        return f"the project has no READY {target} deployment built since its variables last changed"
    return f"the newest READY {target} deployment predates the last change to its variables"


def main():
    argument_spec = api_argument_spec()
    argument_spec["token"] = dict(type="str", no_log=True)
    argument_spec.update(
        project=dict(type="str"),
        hook_url=dict(type="str", no_log=True),
        target=dict(type="str", default="production"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=900),
        poll_interval=dict(type="float", default=5),
        only_if_stale=dict(type="bool", default=False),
        project_id=dict(type="str"),
        last_change=dict(type="int"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True,
        required_one_of=[("project", "hook_url")], required_by={"project": "token"},
        required_if=[("only_if_stale", True, ("project",))],
    )
    params = module.params
    # Ansible's rules above see a key given as null as given: the same rules for empty values.
    if not (params["project"] or params["hook_url"]):
        module.fail_json(msg="one of the following is required: project, hook_url")
    if params["project"] and not params["token"]:
        module.fail_json(msg="missing parameter(s) required by 'project': token")
    if params["only_if_stale"] and not params["project"]:
        module.fail_json(msg="only_if_stale is True but all of the following are missing: project")
    client = VercelClient(module)
    result = {}
    try:
        # The project is read only when its id was not given (or its name is needed below).
        read_project = params["project"] and not params["project_id"]
        project = client.project(params["project"]) if read_project else None
        project_id = params["project_id"] or (project or {}).get("id")
        if params["only_if_stale"]:
            result["stale"] = staleness(module, client, project_id, params["target"])
            if result["stale"] is None:
                module.exit_json(changed=False, **result)
        if module.check_mode:
            module.exit_json(changed=True, msg="would start a new deployment", **result)
        if params["hook_url"]:
            answer = client.call_deploy_hook(params["hook_url"])
            module.exit_json(changed=True, job=answer.get("job", {}), **result)
        project = project or client.project(params["project"])
        latest = client.latest_deployment(project["id"], params["target"])
        if not latest:
            module.fail_json(msg=f"project {params['project']!r} has no READY {params['target']} deployment "
                                 "to redeploy; deploy it once (git push or `vercel deploy --prod`)")
        deployment = client.redeploy(latest, project["name"], params["target"], meta={META_KEY: "1"})
        if params["wait"]:
            deployment = wait_until_final(module, client, deployment)
    except AmbiguousWrite as error:
        module.fail_json(msg=f"the redeploy request got no answer ({error}); Vercel may have started it, "
                             "so it was not sent again: run again (with only_if_stale it waits for that "
                             "deployment instead of starting another)", changed=True, **result)
    except VercelError as error:
        module.fail_json(msg=explain(error, params["project"], client), status=error.status, code=error.code,
                         **result)
    module.exit_json(changed=True, deployment=summary(deployment), **result)


if __name__ == "__main__":
    main()
