"""Errors as a command prints them: an answer this client cannot read is named, not a traceback."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from dockyard.api.monitoring import MonitoringSchedule
from dockyard.client.cli._output import fail_on_error

_ANSWER: dict[str, Any] = {}


@click.command()
@fail_on_error
def _show() -> None:
    click.echo(MonitoringSchedule.model_validate(_ANSWER).name)


def test_an_answer_that_does_not_validate_is_named_field_by_field() -> None:
    _ANSWER.clear()
    _ANSWER.update(name="drift", status="Scheduled", created_by="ana")
    result = CliRunner().invoke(_show, [])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error: MonitoringSchedule did not validate (are client and server the same version?):"
    )
    assert "  spec: Field required" in lines and "  created_time: Field required" in lines
    assert "Traceback" not in result.output


def test_other_errors_are_not_taken_for_it() -> None:
    @click.command()
    @fail_on_error
    def broken() -> None:
        raise ValueError("a bug")

    result = CliRunner().invoke(broken, [])
    assert isinstance(result.exception, ValueError) and str(result.exception) == "a bug"


def test_a_local_path_that_cannot_be_used_is_one_line() -> None:
    @click.command()
    @click.argument("path")
    @fail_on_error
    def read(path: str) -> None:
        Path(path).read_text()

    @click.command()
    @fail_on_error
    def full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    missing = CliRunner().invoke(read, ["/nonexistent/x.yaml"])
    assert missing.exit_code == 2  # bad input
    assert missing.stderr == "error: No such file or directory: /nonexistent/x.yaml\n"
    no_room = CliRunner().invoke(full, [])
    assert no_room.exit_code == 1  # the machine's, not the input's
    assert no_room.stderr == "error: No space left on device\n"
