"""The Socket.io server's own test suite (server/test, Node's test runner with real
socket.io clients and a real Redis) passes, after a strict TypeScript build."""

import re
import shutil

from support import REPO_ROOT, run_tool, tail


def test_server_builds_and_its_tests_pass() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is needed (./flowspace setup checks for it)"
    result = run_tool(npm, "test", "--prefix", str(REPO_ROOT / "server"), timeout=300)
    assert result.returncode == 0, tail(result, 80)
    assert "# fail 0" in result.stdout and "# skipped 0" in result.stdout, tail(result, 40)
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, "the server's test run ran no test: " + tail(result, 40)
