"""tools/drift_report.py's command line (./flowspace drift): the playbook is optional even with
ansible-playbook arguments after --, and --summary appends the verdict as Markdown (the drift
workflow's job summary). The check itself runs against real hosts in test_site and test_caddy."""

import sys

import pytest

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import drift_report  # noqa: E402 - tools/ is not a package


@pytest.fixture
def checked(monkeypatch):
    """What main() asked check() for; check() answers with the findings the test sets."""
    asked, answer = [], {"value": ([], [], 0)}

    def check(inventory, playbook, extra):
        asked.append((inventory, playbook, extra))
        return answer["value"]

    monkeypatch.setattr(drift_report, "check", check)
    return asked, answer


@pytest.mark.parametrize(("argv", "inventory", "playbook", "extra"), [
    (["-i", "prod.yml", "--", "-e", "@vault.yml", "--limit", "a1"], "prod.yml", "site.yml",
     ["-e", "@vault.yml", "--limit", "a1"]),
    (["-i", "prod.yml", "playbooks/edge.yml", "--", "-e", "x=1"], "prod.yml", "playbooks/edge.yml",
     ["-e", "x=1"]),
    (["playbooks/edge.yml"], None, "playbooks/edge.yml", []),
    ([], None, "site.yml", []),
])
def test_the_playbook_is_optional_before_ansibles_arguments(checked, argv, inventory, playbook,
                                                            extra) -> None:
    asked, _ = checked
    assert drift_report.main(argv) == 0
    [(got_inventory, got_playbook, got_extra)] = asked
    assert (got_inventory, got_extra) == (inventory, extra)
    assert got_playbook.endswith(playbook)


def test_the_summary_gets_the_verdict_and_the_table(checked, tmp_path, capsys) -> None:
    _, answer = checked
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps' summary\n")
    assert drift_report.main(["--summary", str(summary)]) == 0
    finding = drift_report.Finding("a1", "caddy : Render | validate", "/etc/caddy/Caddyfile")
    answer["value"] = ([finding], [], 2)
    assert drift_report.main(["--summary", str(summary)]) == 1
    answer["value"] = ([], [drift_report.Finding("a1", "Gathering Facts", "unreachable")], 4)
    assert drift_report.main(["--summary", str(summary)]) == 2
    assert summary.read_text() == (
        "earlier steps' summary\n"
        "### Drift: no drift\n\n"
        "### Drift: 1 drifted\n\n| host | task | what |\n| --- | --- | --- |\n"
        "| a1 | caddy : Render \\| validate | /etc/caddy/Caddyfile |\n"
        "### Drift: the check failed (ansible-playbook exit 4)\n\n"
        "| host | task | what |\n| --- | --- | --- |\n"
        "| a1 | Gathering Facts | unreachable |\n")
    assert "1 drifted:" in capsys.readouterr().out
