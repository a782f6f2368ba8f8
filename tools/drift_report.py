"""What drifted on the hosts: site.yml (or another playbook) in --check --diff mode through
ansible-runner, printed as a short table. Exit status 0 when nothing drifted, 1 when something
did, 2 when the check itself failed — for cron or CI.

    python tools/drift_report.py [-i INVENTORY] [--summary FILE] [PLAYBOOK] [-- extra ansible-playbook args]

--summary FILE appends the verdict and the table to FILE as Markdown (a GitHub Actions job's
$GITHUB_STEP_SUMMARY).
"""

import argparse
import sys
import tempfile
from dataclasses import dataclass

import playbook_run


@dataclass
class Finding:
    host: str
    task: str
    detail: str


def _detail(result: dict) -> str:
    diffs = result.get("diff") or []
    diffs = diffs if isinstance(diffs, list) else [diffs]
    # before_header is the file on the host; a template's after_header is its local source.
    paths = [d.get("before_header") or d.get("after_header") for d in diffs if isinstance(d, dict)]
    paths = [p for p in paths if p]
    return ", ".join(sorted(set(paths)))[:80]


def _undeclared(result: dict) -> str:
    """What an audit task found and left in place (access_audit's findings, config_overrides'
    overriding files reported only)."""
    found = [f.get("what", "") for f in result.get("findings") or []]
    found += [f"{o.get('path')} overrides {', '.join(o.get('keys', []))}"
              for o in result.get("overrides") or []]
    return "; ".join(found)[:160]


def check(inventory: str | None, playbook: str, extra: list[str]) -> tuple[list[Finding], list[Finding], int]:
    """(drifted, failed, ansible's return code) from one --check --diff run; a run that failed
    before any task (a bad inventory or playbook) is one finding with ansible's last words."""
    drifted, failed = [], []
    with tempfile.TemporaryDirectory(prefix="flowspace-drift-") as work:
        runner = playbook_run.run(work, playbook, inventory, ["--check", "--diff", *extra])
        for event in runner.events:
            data = event.get("event_data", {})
            # "role : task", as ansible-playbook prints it: two roles may name a task alike.
            name = " : ".join(part for part in (data.get("role"), data.get("task", "")) if part)
            if event["event"] == "runner_on_ok" and data.get("res", {}).get("changed"):
                drifted.append(Finding(data.get("host", "?"), name, _detail(data["res"])))
            elif event["event"] == "runner_on_ok" and _undeclared(data.get("res", {})):
                # What a run reports and leaves (access nobody declared, a setting overridden
                # where the role does not remove it): drift all the same.
                drifted.append(Finding(data.get("host", "?"), name, _undeclared(data["res"])))
            elif event["event"] in ("runner_on_failed", "runner_on_unreachable") \
                    and not data.get("ignore_errors"):
                message = str(data.get("res", {}).get("msg", ""))[:80]
                failed.append(Finding(data.get("host", "?"), name, message))
        if runner.rc != 0 and not failed and not drifted:
            failed.append(Finding("-", "ansible-playbook", playbook_run.last_words(runner)[:200]))
        return drifted, failed, runner.rc


def table(findings: list[Finding]) -> str:
    rows = [("HOST", "TASK", "WHAT"), *((f.host, f.task, f.detail) for f in findings)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows)


def markdown(verdict: str, findings: list[Finding]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"### Drift: {verdict}", ""]
    if findings:
        lines += ["| host | task | what |", "| --- | --- | --- |"]
        lines += [f"| {cell(f.host)} | {cell(f.task)} | {cell(f.detail)} |" for f in findings]
    return "\n".join(lines) + "\n"


def summarise(path: str | None, verdict: str, findings: list[Finding]) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown(verdict, findings))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # None: Ansible's own rule ($ANSIBLE_INVENTORY, else ansible.cfg's), as every command uses.
    parser.add_argument("-i", "--inventory", default=None)
    parser.add_argument("--summary", metavar="FILE", help="append the verdict and table to FILE as Markdown")
    parser.add_argument("playbook", nargs="?", default=str(playbook_run.REPO_ROOT / "site.yml"))
    # Split here, not by argparse: with the playbook left out, argparse would take the first
    # word after -- for it.
    ours, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser.epilog = "after --: more ansible-playbook arguments"
    args = parser.parse_args(ours)
    drifted, failed, rc = check(args.inventory, args.playbook, extra)
    if failed or (rc != 0 and not drifted):
        print(f"the check failed (ansible-playbook exit {rc}):", file=sys.stderr)
        print(table(failed), file=sys.stderr)
        summarise(args.summary, f"the check failed (ansible-playbook exit {rc})", failed)
        return 2
    if not drifted:
        print("no drift")
        summarise(args.summary, "no drift", [])
        return 0
    print(f"{len(drifted)} drifted:")
    print(table(drifted))
    summarise(args.summary, f"{len(drifted)} drifted", drifted)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
