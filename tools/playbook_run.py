"""One ansible-playbook run of this project's playbooks through ansible-runner, as every tool
here runs them: the project's ansible.cfg, ansible-playbook from the same environment as the
tool (the project's venv), Ansible's own inventory rule when none is given."""

import os
import shlex
import sys
from pathlib import Path

import ansible_runner

REPO_ROOT = Path(__file__).resolve().parent.parent


def run(private_data_dir: str, playbook: str | Path, inventory: str | None, args: list[str],
        quiet: bool = True) -> ansible_runner.Runner:
    """Run `playbook` with `args` (more ansible-playbook arguments); quiet=False shows its output."""
    return ansible_runner.run(
        private_data_dir=private_data_dir, project_dir=str(REPO_ROOT), playbook=str(Path(playbook).resolve()),
        # None: Ansible's own rule ($ANSIBLE_INVENTORY, else ansible.cfg's).
        inventory=str(Path(inventory).resolve()) if inventory else None,
        cmdline=shlex.join(args) if args else None,
        envvars={"ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        quiet=quiet,
    )


def last_words(runner: ansible_runner.Runner, lines: int = 3) -> str:
    """Ansible's last lines: why a run failed before any task (a bad inventory or playbook)."""
    return " ".join(runner.stdout.read().strip().splitlines()[-lines:])
