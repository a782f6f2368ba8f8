"""Hide secret values in a module's result, and only those, and only where they stand whole.

Ansible's own no_log masking replaces a value wherever it occurs, even inside other words: a
short non-secret value garbles every message that contains it (`git_********ranch`). The
modules that carry values of mixed secrecy mask their results with this instead.
"""

import re

MASK = "********"
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def _pattern(secrets):
    # Longest first, so a secret that contains another is hidden whole.
    words = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])")


def mask(data, secrets):
    """A copy of data (dicts, lists, strings) with each secret replaced where it stands whole."""
    pattern = _pattern(secrets)
    if pattern is None:
        return data

    def walk(value):
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {walk(k) if isinstance(k, str) else k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return walk(data)


def secret_values(variables):
    """The values of the variables that are not plain: the ones no output may show."""
    return [var["value"] for var in variables or [] if var.get("type") != "plain" and var.get("value")]


def masked_invocation(params, secrets):
    """module_args as Ansible would echo them, each secret variable's value replaced whole."""
    args = dict(params)
    args["variables"] = [
        {**var, "value": NO_LOG_PLACEHOLDER} if var.get("value") in secrets else var
        for var in params.get("variables") or []
    ]
    return {"module_args": args}


def masking_exits(module):
    """Make the module's exit_json and fail_json hide its variables' secret values."""
    secrets = secret_values(module.params.get("variables"))
    exit_json, fail_json = module.exit_json, module.fail_json

    def masked(result):
        result.setdefault("invocation", masked_invocation(module.params, secrets))
        return mask(result, secrets)

    module.exit_json = lambda **result: exit_json(**masked(result))
    module.fail_json = lambda msg, **result: fail_json(**masked({"msg": msg, **result}))
    return module
