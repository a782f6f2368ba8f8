"""Filters that turn the stack's inventory into what the FlowSpace Next.js app needs."""

import copy

from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error

DOCUMENTATION = r"""
name: flowspace_app_env
short_description: The FlowSpace app's environment from the stack variables
description:
  - Returns NEXT_PUBLIC_SOCKET_URL, NEXT_PUBLIC_LIVEKIT_URL, LIVEKIT_URL, LIVEKIT_API_KEY and
    LIVEKIT_API_SECRET from C(socket_domain), C(livekit_domain), C(livekit_api_key) and
    C(livekit_api_secret).
positional: _input
options:
  _input:
    description: The stack values named above.
    type: dict
    required: true
"""

REQUIRED = ("socket_domain", "livekit_domain", "livekit_api_key", "livekit_api_secret")
CSP_SOURCE = "/(.*)"


def flowspace_app_env(stack):
    if not isinstance(stack, dict):
        raise AnsibleFilterError(f"flowspace_app_env expects a dict, got {type(stack).__name__}")
    missing = [name for name in REQUIRED if not str(stack.get(name) or "").strip()]
    if missing:
        raise AnsibleFilterError(f"flowspace_app_env: missing {', '.join(missing)}")
    for name in ("socket_domain", "livekit_domain"):
        error = dns_name_error(stack[name])
        if error:
            raise AnsibleFilterError(f"flowspace_app_env: {name} {error}")
    return {
        "NEXT_PUBLIC_SOCKET_URL": f"https://{stack['socket_domain']}",
        "NEXT_PUBLIC_LIVEKIT_URL": f"wss://{stack['livekit_domain']}",
        "LIVEKIT_URL": f"wss://{stack['livekit_domain']}",
        "LIVEKIT_API_KEY": stack["livekit_api_key"],
        "LIVEKIT_API_SECRET": stack["livekit_api_secret"],
    }


def vercel_config_with_csp(config, connect_src):
    """vercel.json with a Content-Security-Policy `connect-src` header on every path, keeping
    everything else the file already says."""
    config = copy.deepcopy(config or {})
    if not isinstance(config, dict):
        raise AnsibleFilterError("vercel_config_with_csp: the existing vercel.json is not a JSON object")
    policy = "connect-src " + " ".join(["'self'", *connect_src])
    rules = [rule for rule in config.get("headers", []) if rule.get("source") != CSP_SOURCE]
    kept = next((rule for rule in config.get("headers", []) if rule.get("source") == CSP_SOURCE), {})
    headers = [h for h in kept.get("headers", []) if h.get("key", "").lower() != "content-security-policy"]
    headers.append({"key": "Content-Security-Policy", "value": policy})
    config["headers"] = [*rules, {**kept, "source": CSP_SOURCE, "headers": headers}]
    return config


class FilterModule:
    def filters(self):
        return {"flowspace_app_env": flowspace_app_env, "vercel_config_with_csp": vercel_config_with_csp}
