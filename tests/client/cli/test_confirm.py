"""Deletes ask on a terminal (a real pseudo-terminal here), take --yes, and refuse without it
when there is no terminal to ask on; --json output stays JSON."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._output import emit, fail_on_error, json_option

_ASK = (
    "from dockyard.client.cli._confirm import confirm\n"
    "confirm('delete endpoint web', False)\n"
    "print('went ahead')\n"
)


def _on_a_terminal(answer: str) -> subprocess.CompletedProcess[str]:
    """Run the question with a pseudo-terminal as standard input, typing ``answer``."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode())
        return subprocess.run(
            [sys.executable, "-c", _ASK],
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)


@pytest.mark.parametrize(("answer", "code", "out"), [("y\n", 0, "went ahead\n"), ("n\n", 1, "")])
def test_on_a_terminal_it_asks_on_stderr(answer: str, code: int, out: str) -> None:
    done = _on_a_terminal(answer)
    assert done.returncode == code, done.stderr
    assert done.stdout == out  # the question never mixes into what a command prints
    assert "delete endpoint web? This cannot be undone [y/N]" in done.stderr


@click.command()
@yes_option
@json_option
@fail_on_error
def _drop(yes: bool, as_json: bool) -> None:
    confirm("delete thing t", yes)
    emit({"name": "t", "deleted": True}, as_json, lambda: "deleted t")


def test_without_a_terminal_it_refuses_unless_told_yes() -> None:
    runner = CliRunner()
    refused = runner.invoke(_drop, [], input="y\n")  # piped answers are not read
    assert refused.exit_code == 2
    assert refused.stderr == (
        "error: not asking to delete thing t: the standard input is not a terminal; give --yes "
        "to go ahead (yes)\n"
    )
    assert runner.invoke(_drop, ["--yes"]).output == "deleted t\n"
    told = runner.invoke(_drop, ["-y", "--json"])
    assert told.exit_code == 0 and told.stdout == '{\n  "name": "t",\n  "deleted": true\n}\n'
