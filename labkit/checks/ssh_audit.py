"""Run the third-party ssh-audit against a test host's sshd and list its failures and warnings."""

import json
import subprocess
import sys
from pathlib import Path

SECTIONS = ("kex", "key", "enc", "mac")


def findings(host: str, port: int = 22) -> dict:
    """{"fail": [...], "warn": [...], "cves": [...]} with one "section algorithm: note" line each."""
    ssh_audit = Path(sys.executable).with_name("ssh-audit")
    result = subprocess.run(
        [str(ssh_audit), "-j", "-p", str(port), host], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"ssh-audit gave no report (rc {result.returncode}): {result.stderr}") from err
    out: dict[str, list[str]] = {"fail": [], "warn": []}
    for section in SECTIONS:
        for algorithm in report.get(section, []):
            for level, found in out.items():
                for note in algorithm.get("notes", {}).get(level, []):
                    found.append(f"{section} {algorithm['algorithm']}: {note}")
    out["cves"] = [cve.get("name", str(cve)) for cve in report.get("cves", [])]
    return out


def main(argv: list[str]) -> int:
    """ssh-audit HOST [PORT]: prints the findings as JSON."""
    print(json.dumps(findings(argv[0], int(argv[1]) if len(argv) > 1 else 22)))
    return 0
