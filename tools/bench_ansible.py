"""How long Ansible takes on one lab host, side by side in one run: the first converge and the
no-op re-run of site.yml with the collection's Mitogen strategy and with Ansible's own
`linear`, and a single-role no-op (playbooks/base.yml: the base_hardening role), for comparison
with the hardening roles people use instead. It uses the lab (inventories/lab): each first
converge starts from a fresh host (`python -m labkit down` then `up`); the lab is left
converged.

    python tools/bench_ansible.py [--json FILE]
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import bench_results  # tools/, beside this script

REPO_ROOT = Path(__file__).resolve().parent.parent
INVENTORY = "inventories/lab/hosts.yml"
STRATEGIES = {"mitogen": "flowspace.infra.mitogen_linear", "linear": "linear"}


def labkit(command: str) -> None:
    subprocess.run([sys.executable, "-m", "labkit", command], cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def playbook(path: str, strategy: str) -> dict:
    """One ansible-playbook run: seconds, and the host's ok/changed/skipped counts."""
    env = {**os.environ, "ANSIBLE_STRATEGY": STRATEGIES[strategy], "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, path], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=False)
    seconds = round(time.monotonic() - started, 1)
    if run.returncode != 0:
        raise SystemExit(f"{path} with {strategy} failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")
    recap = re.search(r"^lab-\S+\s*: ok=(\d+)\s+changed=(\d+).*?skipped=(\d+)", run.stdout, re.MULTILINE)
    ok, changed, skipped = (int(n) for n in recap.groups()) if recap else (0, 0, 0)
    return {"playbook": path, "strategy": strategy, "seconds": seconds, "ok": ok, "changed": changed,
            "skipped": skipped}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    rows = []
    for strategy in ("linear", "mitogen"):
        labkit("down")
        labkit("up")
        for step, path in (("first converge", "site.yml"), ("no-op re-run", "site.yml"),
                           ("single role no-op (base_hardening)", "playbooks/base.yml")):
            row = {"step": step, **playbook(path, strategy)}
            rows.append(row)
            print(f"{step:<36} {strategy:<8} {row['seconds']:>7.1f} s  "
                  f"(ok {row['ok']}, changed {row['changed']}, skipped {row['skipped']})", flush=True)
    bench_results.write(args.json, runs=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
