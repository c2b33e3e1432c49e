"""``dockyard pipelines`` in-process (click's runner) over the embedded default, and
``dy.Pipeline.run`` through the same server."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import dockyard as dy
from dockyard import steps
from dockyard.api.pipelines import Execution
from dockyard.client.cli import cli
from dockyard.client.cli.pipelines import _said, readable_cause
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings

DEFINITION = {
    "StartAt": "Prep",
    "States": {
        "Prep": {"Type": "Pass", "Result": 2, "ResultPath": "$.n", "Next": "Gate"},
        "Gate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Refused",
        },
        "Done": {"Type": "Succeed"},
        "Refused": {"Type": "Fail", "Error": "NoGo", "Cause": "go was false"},
    },
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's own home, context and local server. The SDK's context is the process's,
    shared by every module a test worker runs: one an earlier module left pointing at a server
    it stopped failed every command here with 'connection refused'."""
    home = tmp_path_factory.mktemp("cli-pipelines")
    reset_context(Settings(home=home))
    try:
        yield home
    finally:
        reset_context(Settings(home=tmp_path_factory.mktemp("after-cli-pipelines")))
        state = home / "server.json"
        if state.exists():  # the local server outlives its SDK by design: stop it here
            with contextlib.suppress(OSError):
                os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)


@pytest.fixture
def runner(home: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    return CliRunner()


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    path = tmp_path / "gate.asl.json"
    path.write_text(json.dumps(DEFINITION))
    return path


def _run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, ["pipelines", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_graph_of_a_file_needs_no_server(runner: CliRunner, definition: Path) -> None:
    text = _run(runner, "graph", str(definition))
    assert text.startswith("flowchart TD\n")
    assert '|"$.go == true"|' in text
    dot = _run(runner, "graph", str(definition), "--format", "dot")
    assert dot.startswith("digraph pipeline {") and "shape=diamond" in dot
    # A file saved in another encoding is named in one line, as create names it.
    latin = definition.with_name("latin.asl.json")
    latin.write_bytes(definition.read_text().replace("Go", "Gé").encode("latin-1"))
    refused = _run(runner, "graph", str(latin), code=2)
    assert refused.startswith(f"error: cannot read the definition file {latin}: 'utf-8' codec")


def test_run_wait_then_graph_the_execution(runner: CliRunner, definition: Path) -> None:
    done = json.loads(
        _run(
            runner,
            "run",
            str(definition),
            "--input",
            '{"go": true}',
            "--name",
            "ok",
            "--wait",
            "--json",
        )
    )
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"go": True, "n": 2})
    failed = _run(
        runner, "run", "gate", "--input", '{"go": false}', "--name", "no", "--wait", code=1
    )
    assert "NoGo: go was false" in failed
    # --json changes what is printed, not the exit code scripts test
    failed_json = _run(
        runner, "run", "gate", "--input", '{"go": false}', "--wait", "--json", code=1
    )
    assert (json.loads(failed_json)["status"], json.loads(failed_json)["error"]) == (
        "FAILED",
        "NoGo",
    )
    coloured = _run(runner, "graph", "gate", "no")
    # Prep and Gate ran, Refused failed the execution; Done never ran
    ids = {name: node for node, name in re.findall(r'^  (s\d+)\W+"(\w+) \(', coloured, re.M)}
    fills = dict(re.findall(r"^  style (s\d+) fill:(\S+)$", coloured, re.M))
    assert fills[ids["Prep"]] == "#bbf7d0"
    assert fills[ids["Refused"]] == "#fecaca"
    assert ids["Done"] not in fills


def test_a_python_pipeline_runs(runner: CliRunner) -> None:
    gate = steps.Choice("Big").when(dy.Condition("$.n") > 10, steps.Pass("Yes", result="big"))
    pipeline = dy.Pipeline(
        "py-built",
        steps.Pass("Double", parameters={"n": dy.path("States.MathAdd($.n, $.n)")})
        >> gate.otherwise(steps.Pass("No", result="small")),
    )
    assert pipeline.run({"n": 7}).output == '"big"'
    assert pipeline.run({"n": 2}).output == '"small"'
    # run again after a change: the pipeline is updated, not refused as existing
    pipeline.timeout_s = 60
    assert pipeline.run({"n": 6}, name="third").status.value == "SUCCEEDED"


def test_a_failed_functions_cause_reads_as_its_message_not_its_stack() -> None:
    lambda_style = json.dumps(
        {
            "errorMessage": "boom: asked to fail",
            "errorType": "ValueError",
            "stackTrace": ['  File "/srv/fns.py", line 8, in flaky\n    raise ValueError()\n'],
        }
    )
    failed = Execution(
        arn="arn:aws:states:us-east-1:000000000000:execution:f:x",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:f",
        name="x",
        status="FAILED",
        start_time=1,
        stop_time=2,
        input="{}",
        error="ValueError",
        cause=lambda_style,
        revision_id="r",
    )
    line = _said(failed).splitlines()[-1]
    assert line == "error:    ValueError: boom: asked to fail"
    crashed = "function f ended (exit 1) without an answer: Traceback (most recent call last):\n"
    crashed += '  File "/srv/fns.py", line 1, in <module>\nImportError: no numpy\n'
    assert readable_cause(crashed) == (
        "function f ended (exit 1) without an answer: ImportError: no numpy"
    )
    assert readable_cause("go was false") == "go was false"


def _write(tmp_path: Path, definition: dict[str, Any]) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(definition))
    return path


SEVERAL_PROBLEMS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "Nope"},
        "B": {"Type": "Bogus", "End": True},
        "D": {"Type": "Task", "Resource": "dockyard:function:nosuch", "End": True},
    },
}


def test_create_prints_each_problem_once_with_its_place(runner: CliRunner, tmp_path: Path) -> None:
    out = _run(runner, "create", "bad", str(_write(tmp_path, SEVERAL_PROBLEMS)), code=2)
    lines = out.splitlines()
    assert lines[0] == "error: Invalid State Machine Definition:"
    assert "  /States/A/Next: Missing 'Next' target: Nope" in lines
    assert any(line.startswith("  /States/B/Type: ") for line in lines)
    # the server's own check (no function of that name) is reported with the others
    assert any(line.startswith("  /States/D/Resource: ") and "nosuch" in line for line in lines), (
        out
    )
    assert not any(line.startswith("  -:") for line in lines)
    one = {"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}}
    out = _run(runner, "create", "bad", str(_write(tmp_path, one)), code=2)
    assert out == "error: Invalid State Machine Definition: /StartAt: Missing 'Next' target: X\n"


@pytest.mark.parametrize(
    ("definition", "said"),
    [
        (
            {"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}},
            "/StartAt: Missing 'Next' target: X",
        ),
        (
            {
                "StartAt": "A",
                "States": {"A": {"Type": "Pass", "Next": "Nope"}, "B": {"Type": "Succeed"}},
            },
            "/States/A/Next: Missing 'Next' target: Nope",
        ),
        ({"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": True}}}, "/States/A/Type: "),
    ],
)
def test_graph_refuses_an_invalid_definition_as_create_does(
    runner: CliRunner, tmp_path: Path, definition: dict[str, Any], said: str
) -> None:
    path = _write(tmp_path, definition)
    out = _run(runner, "graph", str(path), code=2)
    assert out.startswith("error: Invalid State Machine Definition:"), out
    assert said in out
    assert "flowchart" not in out
    assert out == _run(runner, "create", "bad", str(path), code=2)


def test_a_definition_that_is_not_json_says_so_once(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true},}}')
    out = _run(runner, "create", "bad", str(path), code=2)
    assert out.count("Invalid State Machine Definition") == 1, out
    assert out.startswith("error: Invalid State Machine Definition: INVALID_JSON_DESCRIPTION")
    assert out == _run(runner, "graph", str(path), code=2)


def test_the_input_limit_is_256_kib_of_utf8(runner: CliRunner, definition: Path) -> None:
    # 100,000 two-byte characters: 200 KB of UTF-8, under the limit (600 KB as \\u escapes)
    under = json.dumps({"go": True, "s": "é" * 100_000}, ensure_ascii=False)
    done = json.loads(_run(runner, "run", str(definition), "--input", under, "--wait", "--json"))
    assert done["status"] == "SUCCEEDED"
    over = json.dumps({"go": True, "s": "é" * 140_000}, ensure_ascii=False)
    out = _run(runner, "run", "gate", "--input", over, "--wait", code=2)
    assert "262144 bytes" in out and "characters" not in out, out


def test_an_input_file_that_cannot_be_read_is_named(
    runner: CliRunner, definition: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.json"
    out = _run(runner, "run", str(definition), "--input", f"@{missing}", code=2)
    assert "--input" in out and str(missing) in out and "Traceback" not in out, out
    out = _run(runner, "run", str(definition), "--input", f"@{tmp_path}", code=2)
    assert "--input" in out and str(tmp_path) in out, out
    given = tmp_path / "input.json"
    given.write_text('{"go": true}')
    done = json.loads(_run(runner, "run", "gate", "--input", f"@{given}", "--wait", "--json"))
    assert done["status"] == "SUCCEEDED"


def test_history_shows_the_error_of_a_failed_event(runner: CliRunner, definition: Path) -> None:
    _run(
        runner,
        "run",
        str(definition),
        "--input",
        '{"go": false}',
        "--name",
        "history-no",
        "--wait",
        code=1,
    )
    table = _run(runner, "history", "gate", "history-no").splitlines()
    assert table[0].split() == ["ID", "TIME", "TYPE", "STATE", "ERROR"]
    failed = [row for row in table if "ExecutionFailed" in row.split()]
    assert len(failed) == 1 and failed[0].endswith("NoGo: go was false"), table
    assert sum("NoGo" in row for row in table) == 1, table  # only on the failed event


def test_a_stop_cause_is_said_by_describe_and_history(runner: CliRunner, tmp_path: Path) -> None:
    """``stop --cause`` records a cause and no error: describe and the history both say it."""
    path = tmp_path / "sleepy.asl.json"
    nap = {"Type": "Wait", "Seconds": 3600, "End": True}
    path.write_text(json.dumps({"StartAt": "Nap", "States": {"Nap": nap}}))
    _run(runner, "run", str(path), "--name", "stopped")
    said = _run(runner, "stop", "sleepy", "stopped", "--cause", "superseded by a fix")
    assert "cause:    superseded by a fix" in said.splitlines()
    described = _run(runner, "describe", "sleepy", "stopped").splitlines()
    assert described[-1] == "cause:    superseded by a fix", described
    table = _run(runner, "history", "sleepy", "stopped").splitlines()
    aborted = [row for row in table if "ExecutionAborted" in row.split()]
    assert len(aborted) == 1 and aborted[0].endswith("superseded by a fix"), table


def test_delete_asks_first(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "nap.asl.json"
    path.write_text(
        json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    )
    started = json.loads(_run(runner, "run", str(path), "--name", "long", "--json"))
    assert started["execution_arn"].endswith(":execution:nap:long")
    out = _run(runner, "delete", "nap", code=2)
    assert "--yes" in out, out
    assert "nap" in [p.name for p in dy.list_pipelines()]
    deleted = json.loads(_run(runner, "delete", "nap", "--yes", "--json"))
    assert deleted == {"name": "nap", "kind": "pipeline", "deleted": True}
    assert "nap" not in [p.name for p in dy.list_pipelines()]
    out = _run(runner, "delete", "nap", "--yes", code=2)
    assert "nap" in out, out


def test_bad_flags_and_names_are_named_as_typed(runner: CliRunner, definition: Path) -> None:
    # The request's fields were named: name, description.
    named = _run(runner, "create", "no spaces", str(definition), code=2)
    assert named.startswith("error: NAME_OR_FILE: 'no spaces' is not a valid name")
    described = _run(runner, "create", "gate", str(definition), "--description", "x" * 300, code=2)
    assert described.startswith("error: --description: String should have at most 256")
    _run(runner, "create", str(definition))
    updated = _run(runner, "update", "gate", "--description", "x" * 300, code=2)
    assert updated.startswith("error: --description: ")
    run = _run(runner, "run", "gate", "--name", "no spaces", code=2)
    assert run.startswith("error: --name: 'no spaces' is not a valid name")
