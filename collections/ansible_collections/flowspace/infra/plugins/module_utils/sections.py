"""Split command output that a task printed as sections, each headed `== NAME`.

Several read-only tasks gather many facts in one round trip (`echo '== kex'; ssh -Q kex; ...`);
the filters that read them back share this parser.
"""


def split_sections(text):
    """{NAME: [lines]} in order of appearance; lines before the first heading are ignored."""
    sections = {}
    current = None
    for raw in str(text).splitlines():
        if raw.startswith("== "):
            current = raw[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(raw)
    return sections
