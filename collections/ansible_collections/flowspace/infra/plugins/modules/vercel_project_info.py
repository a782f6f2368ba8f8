#!/usr/bin/python
"""Read a Vercel project: proves the API is reachable, the token valid and the project there."""

DOCUMENTATION = r"""
module: vercel_project_info
short_description: Read a Vercel project (its id, name and account)
description:
  - Reads the project with C(GET /v9/projects/{idOrName}). Nothing is changed, so a playbook
    can run it before touching any host to fail early on an unreachable API, a rejected
    token or a missing project, with Vercel's own error code and message.
version_added: 0.3.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment:
  - flowspace.infra.vercel
  - flowspace.infra.vercel.project
  - flowspace.infra.read_only
"""

EXAMPLES = r"""
- name: Fail early when the Vercel project cannot be reached
  flowspace.infra.vercel_project_info:
    token: "{{ vault_vercel_token }}"
    project: flowspace
"""

RETURN = r"""
project:
  description: The project's id and name, and the accountId it belongs to.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import (
    VercelClient,
    VercelError,
    api_argument_spec,
    explain,
)


def main():
    argument_spec = api_argument_spec()
    argument_spec.update(project=dict(type="str", required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = VercelClient(module)
    try:
        project = client.project(module.params["project"])
    except VercelError as error:
        module.fail_json(msg=explain(error, module.params["project"], client), status=error.status,
                         code=error.code)
    module.exit_json(changed=False, project={k: project.get(k) for k in ("id", "name", "accountId")})


if __name__ == "__main__":
    main()
