"""to_dotenv / from_dotenv: what Next.js' own loader (@next/env, run with Node) reads back is
exactly what was written, for values built to break naive quoting."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.filter.dotenv import from_dotenv, to_dotenv

# The checkout's tests/node, found upwards (mutation testing runs a copy one folder deeper).
NODE_TOOLS = next((parent / "tests" / "node" for parent in Path(__file__).resolve().parents
                   if (parent / "tests" / "node" / "load_next_env.js").is_file()),
                  Path(__file__).resolve().parents[6] / "tests" / "node")

TRICKY = {
    "PLAIN": "wss://livekit.example.com",
    "EMPTY": "",
    "NEWLINES": "line one\nline two\r\nline three\n",
    "DOUBLE_QUOTES": 'say "hi"',
    "SINGLE_QUOTES": "it's",
    "BOTH_QUOTES": "it's \"quoted\"",
    "HASH": "value # not a comment",
    "DOLLARS": "$HOME ${PATH} $1 $$ end$",
    "BACKSLASH_DOLLAR": "a\\$b and \\\\$c",
    "BACKSLASH_N": "literal \\n stays",
    "TRAILING_BACKSLASH": "ends with \\",
    "EQUALS": "a=b=c",
    "UNICODE": "ünïcødé ✓ 空间 🚀",
    "SPACES": "  padded  ",
    "PEM": "-----BEGIN KEY-----\nMIIB$x'y\n-----END KEY-----",
    "TICK_AND_SINGLE": "`it's`",
    "ONLY_NEWLINE": "\n",
    "LONE_CR": "a\rb",
    "CR_AT_END": "value\r",
    "NEWLINE_AND_HASH": "a\n# not a comment\nb",
}


def next_env_reads(tmp_path: Path, text: str) -> dict:
    if not (NODE_TOOLS / "node_modules" / "@next" / "env").is_dir():
        pytest.fail(f"Next.js' loader is not installed: run npm ci in {NODE_TOOLS} (./flowspace setup does)")
    (tmp_path / ".env.production").write_text(text, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in TRICKY}
    env["NODE_ENV"] = "production"
    node = shutil.which("node") or "node"
    result = subprocess.run([node, str(NODE_TOOLS / "load_next_env.js"), str(tmp_path)],
                            capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout)


def test_next_js_reads_back_every_value_exactly(tmp_path) -> None:
    text = to_dotenv(TRICKY)
    assert next_env_reads(tmp_path, text) == TRICKY


def test_from_dotenv_reads_what_to_dotenv_wrote() -> None:
    assert from_dotenv(to_dotenv(TRICKY)) == TRICKY


def test_from_dotenv_agrees_with_next_js_on_hand_written_files(tmp_path) -> None:
    text = ("# comment\nexport A=plain value # trailing comment\nB=\"x\\ny\"\nC='lit\\n'\n"
            "D=`tick`\nE=\nF=\"dollar \\$X\"\n")
    assert from_dotenv(text) == next_env_reads(tmp_path, text)


def test_scalars_are_written_as_strings() -> None:
    assert from_dotenv(to_dotenv({"N": 3, "T": True, "F": False, "NONE": None})) == {
        "N": "3", "T": "true", "F": "false", "NONE": ""}


@pytest.mark.parametrize("bad", [{"1ABC": "x"}, {"A-B": "x"}, {"": "x"}, ["A=1"]])
def test_bad_names_and_inputs_are_refused(bad) -> None:
    with pytest.raises(AnsibleFilterError):
        to_dotenv(bad)


@pytest.mark.parametrize("value", ["it's \"quoted\" with `ticks`", "' ` \\n"])
def test_a_value_no_quoting_can_carry_is_refused_by_name(value) -> None:
    with pytest.raises(AnsibleFilterError, match="UNWRITABLE"):
        to_dotenv({"UNWRITABLE": value})


def test_a_newline_is_written_as_a_real_line_break_in_single_quotes() -> None:
    assert to_dotenv({"N": "a\nb"}) == "N='a\nb'\n"


def test_each_refusal_is_worded_whole() -> None:
    for call, message in (
        (lambda: to_dotenv(["A"]), "to_dotenv expects a dict, got list"),
        (lambda: to_dotenv({"1A": "x"}), "to_dotenv: '1A' is not an environment variable name"),
        (lambda: from_dotenv(None), "from_dotenv expects a string, got NoneType"),
        (lambda: to_dotenv({"A": "'`\"\\n"}),
         "to_dotenv: the value of A cannot be quoted so that Next.js reads it back unchanged (it holds ' "
         "and ` and either \" or a backslash-n/r sequence, or a carriage return with \" or such a "
         "sequence); change the value"),
    ):
        with pytest.raises(AnsibleFilterError) as refused:
            call()
        assert str(refused.value) == message


def test_an_empty_file_and_windows_line_ends() -> None:
    assert to_dotenv({}) == ""
    assert from_dotenv("A=1\r\nB='two'\rC=`three`\n") == {"A": "1", "B": "two", "C": "three"}
