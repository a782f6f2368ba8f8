#!/usr/bin/python
"""One converge at a time on a host: a lock file that names its holder."""

DOCUMENTATION = r"""
module: run_lock
short_description: Hold a host's converge lock, naming who holds it and since when
description:
  - A run takes the lock on every host it converges before it changes anything, and gives it
    back at its end. A second run finds it held, waits up to O(wait) seconds for it, then fails
    saying who holds it (holder, run, playbook), since when and when it was last active.
  - The lock is a file created atomically (C(O_EXCL)); taking it again with the same O(run_id)
    refreshes it (each play of a run does), so a run holds it from its first play to its last.
  - B(Stale locks.) A lock not refreshed for O(lease) seconds is stale (its run was killed); it
    is taken over. So is the lock of O(take_over), a run the caller knows is dead (the playbook
    checks whether a lock taken from this controller still has its process). Taking over
    renames the stale file first (atomic; of two runs taking over, one wins, the other waits).
  - On C(/run) by default, so a reboot clears it.
  - Never reported as a change; the lock is the run's bookkeeping, not the host's configuration
    (a no-op run stays 0 changed).
  - In check mode the lock is not taken (nothing changes); a lock held by another run is
    reported as a warning.
version_added: 0.3.0
author: FlowSpace infra (@flowspace)
options:
  state:
    description: C(acquired) takes (or refreshes) the lock; C(released) gives it back if this run holds it.
    type: str
    choices: [acquired, released]
    default: acquired
  run_id:
    description: This run's id, the same for every host and play of the run.
    type: str
    required: true
  holder:
    description: Who runs (C(user@controller)), shown to whoever waits.
    type: str
    default: unknown
  holder_pid:
    description: The controller process of this run, so the same controller can tell a dead run.
    type: int
  playbook:
    description: What runs, shown to whoever waits.
    type: str
    default: ""
  path:
    description: The lock file.
    type: path
    default: /run/flowspace/converge.lock
  wait:
    description: Seconds to wait for a lock another run holds.
    type: int
    default: 300
  lease:
    description: Seconds after its last refresh when a lock counts as stale.
    type: int
    default: 1800
  poll:
    description: Seconds between looks while waiting.
    type: float
    default: 5
  take_over:
    description: The run id of a lock known to be stale (its run is dead), taken over at once.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Takes and gives back nothing; reports a lock held by another run.
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Take the converge lock
  flowspace.infra.run_lock:
    run_id: "{{ flowspace_run_id }}"
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}@{{ lookup('ansible.builtin.pipe', 'hostname') }}"
    playbook: site.yml
"""

RETURN = r"""
held_by:
  description: The lock as another run held it (run_id, holder, holder_pid, playbook, since, refreshed).
  returned: when another run held it
  type: dict
acquired:
  description: Whether this run holds the lock now.
  returned: always
  type: bool
waited:
  description: Seconds waited for it.
  returned: always
  type: float
"""

import json
import os
import time
import uuid

from ansible.module_utils.basic import AnsibleModule


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # Being written this instant by the run that created it, or left half-written by one
        # that died: as fresh as the file, so it goes stale like any other lock.
        try:
            modified = os.path.getmtime(path)
        except OSError:
            return None
        return {"run_id": "?", "holder": "unreadable lock file", "since": modified, "refreshed": modified}


def write_new(path, record):
    """Create the lock file; False when it exists already (another run was first)."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return True


def refresh(path, record):
    temporary = f"{path}.{uuid.uuid4().hex}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(temporary, path)


def take_over(path, found):
    """Move a stale lock aside; True for the one run whose rename took it."""
    aside = f"{path}.stale-{uuid.uuid4().hex}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # gone meanwhile: free to create
    if (read(aside) or {}).get("run_id") != found.get("run_id"):
        # Another run's fresh lock replaced the stale one in between: put it back, and wait.
        if not os.path.exists(path):
            os.rename(aside, path)
        return False
    os.remove(aside)
    return True


def when(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds or 0))


def describe(found):
    return (f"held by {found.get('holder', '?')} (run {found.get('run_id', '?')}"
            + (f", {found['playbook']}" if found.get("playbook") else "")
            + f") since {when(found.get('since'))}, last active {when(found.get('refreshed'))}")


def acquire(module, params, now=time.time, sleep=time.sleep):
    path, run_id = params["path"], params["run_id"]
    started = now()
    record = {"run_id": run_id, "holder": params["holder"], "holder_pid": params["holder_pid"],
              "playbook": params["playbook"], "since": started, "refreshed": started}
    found = None
    while True:
        current = read(path)
        if current is None:
            if module.check_mode or write_new(path, record):
                return {"changed": False, "acquired": not module.check_mode,
                        "waited": round(now() - started, 1)}
            continue
        if current.get("run_id") == run_id:
            if not module.check_mode:
                refresh(path, {**current, "refreshed": now()})
            return {"changed": False, "acquired": True, "waited": round(now() - started, 1)}
        found = current
        stale = now() - float(current.get("refreshed") or 0) > params["lease"]
        if stale or (params["take_over"] and current.get("run_id") == params["take_over"]):
            if module.check_mode:
                module.warn(f"the converge lock is stale ({describe(current)}): a run takes it over")
                return {"changed": False, "acquired": False, "held_by": current, "waited": 0}
            if take_over(path, current):
                module.warn(f"took over a stale converge lock ({describe(current)})")
                continue
        if module.check_mode:
            module.warn(f"another run holds the converge lock: {describe(current)}")
            return {"changed": False, "acquired": False, "held_by": current, "waited": 0}
        if now() - started >= params["wait"]:
            module.fail_json(
                msg=f"another run is converging this host: the lock {path} is {describe(found)}; "
                f"waited {params['wait']} s. Nothing was changed. Run again once it has ended. A lock "
                f"not active for {params['lease']} s is taken over as stale; if you know that run is "
                "dead, run with -e flowspace_lock_break=true to take it over now.",
                held_by=found, acquired=False, waited=round(now() - started, 1))
        sleep(params["poll"])


def release(module, params):
    current = read(params["path"])
    if current is None or current.get("run_id") != params["run_id"]:
        return {"changed": False, "acquired": False, "waited": 0}
    if not module.check_mode:
        os.remove(params["path"])
    return {"changed": False, "acquired": False, "waited": 0}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
            "run_id": {"type": "str", "required": True},
            "holder": {"type": "str", "default": "unknown"},
            "holder_pid": {"type": "int"},
            "playbook": {"type": "str", "default": ""},
            "path": {"type": "path", "default": "/run/flowspace/converge.lock"},
            "wait": {"type": "int", "default": 300},
            "lease": {"type": "int", "default": 1800},
            "poll": {"type": "float", "default": 5},
            "take_over": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    result = acquire(module, params) if params["state"] == "acquired" else release(module, params)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
