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
  - Always reports a change; guard it with C(when), for example on the C(redeploy_needed)
    result of M(flowspace.infra.vercel_env).
version_added: 0.2.0
author: FlowSpace infra
extends_documentation_fragment: [flowspace.infra.vercel]
options:
  project:
    description: The project's id or name (not needed with O(hook_url)).
    type: str
  hook_url:
    description: A deploy hook URL (C(.../v1/integrations/deploy/PROJECT/HOOK)); it is a secret.
    type: str
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
    support: full
    details: Reports the deployment it would start and sends nothing.
  diff_mode:
    support: none
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
    VercelClient,
    VercelError,
    api_argument_spec,
)

FINAL_STATES = ("READY", "ERROR", "CANCELED")


def wait_until_final(module, client, deployment):
    deadline = time.monotonic() + module.params["wait_timeout"]
    while deployment.get("readyState") not in FINAL_STATES:
        if time.monotonic() > deadline:
            module.fail_json(msg=f"deployment {deployment['id']} is still {deployment.get('readyState')} "
                                 f"after {module.params['wait_timeout']}s", deployment=deployment)
        time.sleep(module.params["poll_interval"])
        deployment = client.deployment(deployment["id"])
    if deployment["readyState"] != "READY":
        module.fail_json(msg=f"deployment {deployment['id']} ended {deployment['readyState']}",
                         deployment=deployment)
    return deployment


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
    )
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True,
        required_one_of=[("project", "hook_url")], mutually_exclusive=[("project", "hook_url")],
        required_by={"project": "token"},
    )
    params = module.params
    if module.check_mode:
        module.exit_json(changed=True, msg="would start a new deployment")
    client = VercelClient(module)
    try:
        if params["hook_url"]:
            answer = client.call_deploy_hook(params["hook_url"])
            module.exit_json(changed=True, job=answer.get("job", {}))
        project = client.project(params["project"])
        latest = client.latest_deployment(project["id"], params["target"])
        if not latest:
            module.fail_json(msg=f"project {params['project']!r} has no READY {params['target']} deployment "
                                 "to redeploy; deploy it once (git push or `vercel deploy --prod`)")
        deployment = client.redeploy(latest, project["name"], params["target"])
        if params["wait"]:
            deployment = wait_until_final(module, client, deployment)
    except VercelError as error:
        module.fail_json(msg=f"Vercel API error: {error}", status=error.status, code=error.code)
    module.exit_json(changed=True, deployment={k: deployment.get(k) for k in ("id", "url", "readyState")})


if __name__ == "__main__":
    main()
