"""The collection's mitogen_linear strategy: it runs plays (also under its former name), and a
controller without Mitogen gets a message saying what to install, not a traceback."""

import os

from ansible_run import local_inventory
from support import run_tool

PLAY = """
- name: One task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say something
      ansible.builtin.debug:
        msg: ran under the strategy
"""


def run_play(tmp_path, **env) -> tuple[int, str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    inventory = local_inventory(tmp_path / "hosts.json")
    result = run_tool("ansible-playbook", "-i", str(inventory), str(playbook), env=env, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_the_strategy_and_its_former_name_run_plays(tmp_path) -> None:
    for name in ("flowspace.infra.mitogen_linear", "flowspace.infra.fast_linear"):
        returncode, output = run_play(tmp_path, ANSIBLE_STRATEGY=name)
        assert returncode == 0, output[-2000:]
        assert "ran under the strategy" in output


def test_without_mitogen_the_error_says_what_to_install(tmp_path) -> None:
    shadow = tmp_path / "shadow" / "ansible_mitogen"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("No module named \'mitogen\'")\n')
    pythonpath = os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH")]))
    returncode, output = run_play(tmp_path, PYTHONPATH=pythonpath,
                                  ANSIBLE_STRATEGY="flowspace.infra.mitogen_linear")
    assert returncode != 0
    assert "needs the 'mitogen' Python package" in output and "ANSIBLE_STRATEGY=linear" in output
    assert "Traceback" not in output
