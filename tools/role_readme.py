"""The variables table of each role's README, generated from its meta/argument_specs.yml (the
one place a variable is described): `python tools/role_readme.py` rewrites the tables,
`--check` exits 1 naming the READMEs that disagree (the lint tests run it)."""

import json
import re
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- variables: generated from meta/argument_specs.yml by tools/role_readme.py -->"
END = "<!-- end of generated variables -->"
# Ansible's documentation markup, as Markdown.
MARKUP = [(re.compile(r"[CV]\(([^)]*)\)"), r"`\1`"), (re.compile(r"I\(([^)]*)\)"), r"*\1*"),
          (re.compile(r"U\(([^)]*)\)"), r"\1"), (re.compile(r"L\(([^,]*),[^)]*\)"), r"\1")]
LONGEST_DEFAULT = 70


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(option: dict) -> str:
    value = option.get("default")
    if value is None:
        return "required" if option.get("required") else "none"
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    shown = " ".join(shown.split()) if shown.strip() else '""'
    if len(shown) > LONGEST_DEFAULT:
        shown = shown[:LONGEST_DEFAULT - 1] + "…"
    return f"`{_cell(shown)}`"


def _meaning(option: dict) -> str:
    description = option.get("description", "")
    text = " ".join(description) if isinstance(description, list) else str(description)
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    if option.get("choices"):
        text += " One of " + ", ".join(f"`{choice}`" for choice in option["choices"]) + "."
    return _cell(" ".join(text.split()))


def _type(option: dict) -> str:
    kind = option.get("type", "str")
    return f"{kind} of {option['elements']}" if option.get("elements") else kind


def table(role: Path) -> str:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{name}` | {_type(option)} | {_default(option)} | {_meaning(option)} |"
             for name, option in options.items()]
    return "\n".join([BEGIN, *rows, END])


def rendered(role: Path) -> str:
    """The role's README with its generated table in place (between the markers)."""
    readme = (role / "README.md").read_text()
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{role.name}/README.md has no generated-variables markers ({BEGIN})")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + table(role) + tail


def roles() -> list[Path]:
    return sorted(path.parent.parent for path in (REPO_ROOT / "roles").glob("*/meta/argument_specs.yml"))


def main(argv: list[str]) -> int:
    stale = [role for role in roles() if rendered(role) != (role / "README.md").read_text()]
    if "--check" in argv:
        for role in stale:
            print(f"{role.name}/README.md: its variables table is not the argument spec's; "
                  "run python tools/role_readme.py", file=sys.stderr)
        return 1 if stale else 0
    for role in stale:
        (role / "README.md").write_text(rendered(role))
        print(f"rewrote {role.name}/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
