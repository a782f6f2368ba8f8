"""Filters for .env files that Next.js reads back exactly as written.

Next.js loads `.env*` files with dotenv and then dotenv-expand. What that pair does, and so
what `to_dotenv` must write:
- single quotes and backticks keep their content literally, real newlines included;
- double quotes turn the two characters `\\n` / `\\r` into a newline / carriage return, and
  cannot hold a double quote;
- afterwards every `$NAME` / `${NAME}` is expanded and every `\\$` becomes `$`, whatever the
  quotes. So every `$` is written as `\\$`.
A value is quoted with the first style that can hold it exactly: single quotes, backticks,
then double quotes; a value no style can hold (one with ' and ` and either " or a
backslash-n sequence) is refused with its key named.
"""

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: to_dotenv
short_description: Render a dict as a .env file that Next.js reads back identically
description:
  - Keys must be environment variable names; values are strings (numbers and booleans are
    converted). Keys are written in the order given.
positional: _input
options:
  _input:
    description: Variable name to value.
    type: dict
    required: true
"""

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LINE = re.compile(
    r"""^[ \t]*(?:export[ \t]+)?([\w.-]+)[ \t]*=[ \t]*("""
    r"""'(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`|[^#\n]*)[ \t]*(?:#.*)?$""",
    re.MULTILINE,
)


def _quote(key, value):
    escaped = value.replace("$", "\\$")
    has_backslash_sequence = re.search(r"\\[nr]", escaped)
    if "\r" in value:
        # dotenv turns every carriage return in the file into a newline; only the escape survives.
        if '"' not in value and not has_backslash_sequence:
            return '"' + escaped.replace("\r", "\\r") + '"'
    elif "'" not in value:
        return f"'{escaped}'"
    elif "`" not in value:
        return f"`{escaped}`"
    elif '"' not in value and not has_backslash_sequence:
        return f'"{escaped}"'
    raise AnsibleFilterError(
        f"to_dotenv: the value of {key} cannot be quoted so that Next.js reads it back unchanged "
        "(it holds ' and ` and either \" or a backslash-n/r sequence, or a carriage return with \" "
        "or such a sequence); change the value"
    )


def to_dotenv(variables):
    if not isinstance(variables, dict):
        raise AnsibleFilterError(f"to_dotenv expects a dict, got {type(variables).__name__}")
    lines = []
    for key, raw in variables.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise AnsibleFilterError(f"to_dotenv: {key!r} is not an environment variable name")
        value = "" if raw is None else ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        lines.append(f"{key}={_quote(key, value)}")
    return "\n".join(lines) + ("\n" if lines else "")


def from_dotenv(text):
    """Parse .env text the way Next.js does, without expanding variables: `\\$` becomes `$`,
    double-quoted `\\n`/`\\r` become line breaks, unquoted values end at `#`."""
    if not isinstance(text, str):
        raise AnsibleFilterError(f"from_dotenv expects a string, got {type(text).__name__}")
    parsed = {}
    for match in LINE.finditer(re.sub(r"\r\n?", "\n", text)):
        key, raw = match.group(1), match.group(2).strip()
        quote = raw[:1]
        if len(raw) >= 2 and quote in "'\"`" and raw[-1] == quote:
            value = raw[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace("\\r", "\r")
        else:
            value = raw
        parsed[key] = value.replace("\\$", "$")
    return parsed


class FilterModule:
    def filters(self):
        return {"to_dotenv": to_dotenv, "from_dotenv": from_dotenv}
