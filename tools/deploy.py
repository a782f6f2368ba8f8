"""The whole chain from an Oracle Cloud account to a stack browsers use, one step after another,
each printed with its time; it stops at the first step that fails and says what to fix:

  1. provision  playbooks/provision.yml: the network, the A1 instance(s), their addresses
  2. dns        site.yml --tags dns: the stack's names point at the instance (checked first)
  3. site       site.yml: the stack itself, and the app's environment on Vercel
  4. check      from outside, as a browser meets it (labkit/checks/outside.py): certificates
                from the configured CA, a socket join with a signed token, two LiveKit
                participants who hear each other, a relay-only one through TURN over TLS on 443

Every step is idempotent: a second deploy changes nothing (the changed counts say so).

    python tools/deploy.py [-i INVENTORY] [--ca-file PEM] [--verbose] [-- extra ansible-playbook args]

--ca-file: what the check trusts (default: the system's trust store, as browsers trust Let's
Encrypt); the lab gives its ACME stand-in's root, a staging run Let's Encrypt's staging roots.
Exit status 0 when every step passed, 1 when one failed.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import playbook_run

ROOT = playbook_run.REPO_ROOT
sys.path.insert(0, str(ROOT))
from labkit.checks import outside  # noqa: E402 - the repository root is on the path only now


@dataclass
class Step:
    name: str
    playbook: Path
    args: list[str]
    fix: str  # what to do when it fails


STEPS = [
    Step("provision", ROOT / "playbooks" / "provision.yml", [],
         "check the OCI settings (inventory oci_*, ~/.oci/config) and the account's limits: docs/oci.md"),
    Step("dns", ROOT / "site.yml", ["--tags", "dns"],
         "check the DNS settings (flowspace_dns_provider, flowspace_dns_domain, the Vercel token's scope); "
         "with the manual provider, make the records shown"),
    Step("site", ROOT / "site.yml", [],
         "the failed task above names what to fix; running again is safe (it heals what is half done)"),
]
VAULT_FIX = ("the vault password does not open the vault: give the right one (FLOWSPACE_VAULT_PASSWORD, "
             "or -- --vault-password-file FILE)")
CHECK_FIX = ("the stack is deployed, but users cannot use it yet: the failing check names what "
             "(DNS not yet at every resolver, a firewall or OCI security list, a certificate)")


def failures(runner) -> list[str]:
    """Each failed task as host: task: message; Ansible's last words when it failed before any."""
    found = []
    for event in runner.events:
        data = event.get("event_data", {})
        if event["event"] in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            message = " ".join(str(data.get("res", {}).get("msg", "")).split())[:400]
            found.append(f"{data.get('host', '?')}: {data.get('task', '?')}: {message}")
    return found or [playbook_run.last_words(runner, 5)[:600]]


def run_step(step: Step, inventory: str | None, extra: list[str], verbose: bool) -> bool:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"flowspace-deploy-{step.name}-") as work:
        runner = playbook_run.run(work, step.playbook, inventory, [*step.args, *extra], quiet=not verbose)
        seconds = time.monotonic() - started
        changed = sum((runner.stats or {}).get("changed", {}).values())
        if runner.rc == 0:
            print(f"ok   {step.name} ({seconds:.1f} s, {changed} changed)", flush=True)
            return True
        print(f"FAIL {step.name} ({seconds:.1f} s, ansible-playbook exit {runner.rc})", flush=True)
        found = failures(runner)
        for failure in found:
            print(f"     {failure}")
        print(f"     to fix: {VAULT_FIX if any('Decryption failed' in f for f in found) else step.fix}")
        return False


def check(inventory: str | None, extra: list[str], ca_file: str | None, verbose: bool) -> bool:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flowspace-deploy-check-") as work:
        spec_file = Path(work) / "spec.json"
        runner = playbook_run.run(work, ROOT / "playbooks" / "check_spec.yml", inventory,
                                  ["-e", f"flowspace_check_spec_file={spec_file}", *extra], quiet=not verbose)
        if runner.rc != 0:
            print(f"FAIL check: the stack's names and keys could not be read (exit {runner.rc})")
            for failure in failures(runner):
                print(f"     {failure}")
            return False
        spec = outside.Spec.read(spec_file)
    print("     check, from outside:", flush=True)
    passed = outside.run(spec, ca_file)
    seconds = time.monotonic() - started
    print(f"{'ok  ' if passed else 'FAIL'} check ({seconds:.1f} s)")
    if not passed:
        print(f"     to fix: {CHECK_FIX}")
    return passed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-i", "--inventory", default=None)
    parser.add_argument("--ca-file", default=None, help="the CA the check trusts (default: the system's)")
    parser.add_argument("--verbose", action="store_true", help="show ansible-playbook's output as it runs")
    parser.epilog = "after --: more ansible-playbook arguments, given to every playbook"
    ours, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args = parser.parse_args(ours)
    started = time.monotonic()
    for step in STEPS:
        if not run_step(step, args.inventory, extra, args.verbose):
            return 1
    if not check(args.inventory, extra, args.ca_file, args.verbose):
        return 1
    print(f"deployed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
