"""Run a playbook against test hosts and read back, per task, what changed."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from labkit.lab import paths
from support import REPO_ROOT, VENV_BIN, run_tool

LAB_GROUP_VARS = REPO_ROOT / "inventories" / "lab" / "group_vars"
# For runs meant to stop at input validation in their first seconds: Mitogen's start-up
# (shipping Ansible's code to the host, ~3 s) costs more there than it saves.
STOPS_EARLY = {"ANSIBLE_STRATEGY": "linear"}


class UnreadableRun(AssertionError):
    """ansible-playbook printed something other than its JSON report."""


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    changed_tasks: dict[str, list[str]] = field(default_factory=dict)  # host -> task names
    failures: dict[str, list[str]] = field(default_factory=dict)  # host -> messages
    results: dict[str, dict[str, dict]] = field(default_factory=dict)  # task name -> host -> result
    seconds: float = 0.0  # wall time of the run
    failed_plays: set[str] = field(default_factory=set)  # names of the plays where a task failed

    def changed(self, host: str) -> list[str]:
        return self.changed_tasks.get(host, [])

    def changed_names(self, host: str) -> set[str]:
        """The changed tasks' names without their role prefix ("role : name")."""
        return {name.split(" : ", 1)[-1] for name in self.changed(host)}

    def result(self, task: str, host: str = "localhost") -> dict:
        return self.results.get(task, {}).get(host, {})

    def unchanged(self) -> bool:
        """A repeat run that succeeded and changed nothing (a failed run changes nothing too,
        so a re-run check must look at both)."""
        return self.returncode == 0 and not any(self.changed_tasks.values())

    def succeeded(self) -> "PlaybookRun":
        """This run, after checking it succeeded: for a test's set-up steps."""
        assert self.returncode == 0, self.output[-3000:]
        return self


def write_inventory(path: Path, hosts: dict[str, dict], lab_login: bool = True) -> Path:
    """A static inventory putting every host in the stack's groups, with the lab's group_vars
    (stack, ACME server, binaries) beside it; host vars given here win over them. Without
    lab_login, the lab's SSH login settings are left out (connection.yml: its key, relaxed
    host-key checking), as in a repository's inventory: the key and known hosts come from
    elsewhere (a CI runner's environment)."""
    inventory = {
        "all": {
            "children": {
                "oci": {
                    "hosts": hosts,
                    "children": {
                        **{group: {"hosts": dict.fromkeys(hosts)} for group in ("edge", "livekit", "socket")},
                        "redis": {"hosts": {}},  # one host: no Redis
                    },
                }
            }
        }
    }
    path.write_text(json.dumps(inventory))
    group_vars = path.parent / "group_vars"
    if group_vars.exists():
        return path
    if lab_login:
        group_vars.symlink_to(LAB_GROUP_VARS, target_is_directory=True)
        return path
    (group_vars / "all").mkdir(parents=True)
    for settings in (LAB_GROUP_VARS / "all").iterdir():
        if settings.name != "connection.yml":
            (group_vars / "all" / settings.name).symlink_to(settings)
    return path


def ssh_host_vars(port: int) -> dict:
    return {
        "ansible_host": "127.0.0.1",
        "ansible_port": port,
        "ansible_user": "ubuntu",
        "ansible_ssh_private_key_file": str(paths.lab_key()),
        "ansible_ssh_common_args": (
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        ),
        "ansible_host_key_checking": False,
    }


def docker_host_vars(container: str) -> dict:
    return {"ansible_connection": "community.docker.docker", "ansible_host": container}


def local_inventory(path: Path) -> Path:
    """localhost only, run by the test's own Python (the venv with ansible in it)."""
    path.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    return path


def run_playbook(inventory: Path, playbook: str, *args: str, timeout: float = 900,
                 env: dict | None = None) -> PlaybookRun:
    env = {
        **os.environ,
        **(env or {}),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), playbook, *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )
    run = PlaybookRun(result.returncode, result.stdout + result.stderr,
                      seconds=round(time.monotonic() - started, 1))
    # With -v ansible prints a line or two (the config file used) before the JSON report.
    start = result.stdout.find("\n{")
    document = result.stdout if result.stdout.startswith("{") or start < 0 else result.stdout[start + 1:]
    try:
        report = json.loads(document)
    except json.JSONDecodeError as error:
        # Without the report nothing can be said about what changed: a test must not read
        # "no changed tasks" into a run it could not parse. (A failed run keeps its output;
        # its empty failures then fail any test that looks for a message.)
        if result.returncode != 0:
            return run
        raise UnreadableRun(f"ansible-playbook's output is not the JSON report ({error}):\n"
                            f"{(result.stdout + result.stderr)[-3000:]}") from error
    for play in report.get("plays", []):
        play_name = play.get("play", {}).get("name", "")
        for task in play.get("tasks", []):
            name = task["task"]["name"]
            for host, outcome in task.get("hosts", {}).items():
                run.results.setdefault(name, {})[host] = outcome
                if outcome.get("changed"):
                    run.changed_tasks.setdefault(host, []).append(name)
                if outcome.get("failed") or outcome.get("unreachable"):
                    run.failures.setdefault(host, []).append(str(outcome.get("msg", "")))
                    run.failed_plays.add(play_name)
    return run


def run_drift_report(inventory: Path, playbook: str, *args: str,
                     timeout: float = 600) -> subprocess.CompletedProcess:
    """The operator's drift report (tools/drift_report.py): `playbook` in --check --diff mode;
    args go to ansible-playbook."""
    return run_tool(sys.executable, "tools/drift_report.py", "-i", str(inventory), playbook, "--", *args,
                    timeout=timeout)
