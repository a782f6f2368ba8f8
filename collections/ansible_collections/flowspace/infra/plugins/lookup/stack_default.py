"""The stack's shared defaults (the services' loopback ports and addresses), one source."""

DOCUMENTATION = r"""
name: stack_default
short_description: A default shared by every layer of the FlowSpace stack
description:
  - Returns the stack's default for each name given (C(socket_port), C(livekit_port),
    C(turn_tls_port), C(redis_port), C(caddy_admin_listen), C(livekit_prometheus_port),
    C(socket_metrics_port)), so the roles' defaults, their argument specs, the edge's upstreams
    and what the monitoring layer scrapes agree by construction.
options:
  _terms:
    description: Names of the defaults.
    required: true
"""

EXAMPLES = r"""
- name: The socket server's port unless the inventory sets one
  ansible.builtin.debug:
    msg: "{{ flowspace_socket_port | default(lookup('flowspace.infra.stack_default', 'socket_port')) }}"
"""

RETURN = r"""
_raw:
  description: One value per name.
  type: list
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.flowspace.infra.plugins.module_utils.stack_defaults import STACK_DEFAULTS


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        unknown = [term for term in terms if term not in STACK_DEFAULTS]
        if unknown:
            raise AnsibleLookupError(
                f"stack_default: unknown name(s) {', '.join(map(str, unknown))}; "
                f"known: {', '.join(STACK_DEFAULTS)}")
        return [STACK_DEFAULTS[term] for term in terms]
