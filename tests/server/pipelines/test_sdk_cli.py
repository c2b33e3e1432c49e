"""``dy.*_pipeline`` / ``dy.*_execution`` and ``dockyard pipelines`` against a live server on the
real core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.server.pipelines._live import served

from dockyard.client import sdk
from dockyard.client.cli import cli
from dockyard.client.http import Client, routes
from dockyard.errors import AlreadyExists, InvalidArgument
from dockyard.server._services import Services
from dockyard.settings import Settings

CHAIN = {
    "StartAt": "Hello",
    "States": {
        "Hello": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('hi {}', $.who)"},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    made = Services.from_settings(
        Settings(home=tmp_path / "home", data_roots=[str(tmp_path)], scheduler=True)
    )
    with served(made) as found:
        yield found
    made.close()


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url) as made:
        yield made


def test_sdk_create_start_wait_history_stop(client: Client) -> None:
    made = sdk.create_pipeline("hello", CHAIN, client=client)
    assert made.arn.endswith(":stateMachine:hello")
    started = sdk.start_execution("hello", {"who": "dockyard"}, name="first", client=client)
    ended = sdk.describe_execution("hello", started.execution_arn, wait=30, client=client)
    assert ended.status.value == "SUCCEEDED"
    assert json.loads(ended.output or "") == {"greeting": "hi dockyard"}
    types = [e.type for e in sdk.execution_history("hello", "first", client=client)]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    sdk.create_pipeline("nap", NAP, client=client)
    napping = sdk.start_execution("nap", name="n", client=client)
    assert sdk.start_execution("nap", name="n", client=client) == napping  # the same, running
    with pytest.raises(AlreadyExists):
        sdk.start_execution("nap", {"other": 1}, name="n", client=client)
    stopped = sdk.stop_execution("nap", napping.execution_arn, cause="enough", client=client)
    assert stopped.status.value == "ABORTED" and stopped.cause == "enough"
    assert [m.name for m in sdk.list_pipelines(client=client)] == ["hello", "nap"]
    active = {m.name: m for m in sdk.list_pipelines(activity=True, client=client)}
    last = active["nap"].last_execution
    assert last is not None and (last.name, active["nap"].running) == ("n", 0)
    assert sdk.validate_pipeline(NAP, client=client).result == "OK"
    with pytest.raises(InvalidArgument) as bad:
        sdk.create_pipeline("broken", {"StartAt": "X", "States": {}}, client=client)
    assert "StartAt" in bad.value.message or "States" in bad.value.message


def test_cli_run_a_definition_file_and_read_it_back(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", url)
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(cli, ["pipelines", *args])
        assert result.exit_code == 0, result.output
        return result.output

    path = tmp_path / "hello.asl.json"
    path.write_text(json.dumps(CHAIN))
    ran = json.loads(
        ok("run", str(path), "--input", '{"who": "cli"}', "--name", "one", "--wait", "--json")
    )
    assert ran["status"] == "SUCCEEDED" and json.loads(ran["output"]) == {"greeting": "hi cli"}
    assert "SUCCEEDED" in ok("describe", "hello", "one")
    history = ok("history", "hello", "one").splitlines()
    assert history[0].split()[:3] == ["ID", "TIME", "TYPE"] and "ExecutionSucceeded" in history[-1]
    path.write_text(json.dumps(NAP))
    ok("update", "hello", str(path))
    # an execution is drawn with the definition it ran, not the one updated since
    drawn = ok("graph", "hello", "one")
    assert "Hello (Pass)" in drawn and "Nap" not in drawn
    with Client(url) as http:
        ran_with = sdk.execution_definition("hello", "one", client=http)
    assert json.loads(ran_with.definition) == CHAIN
    ok("run", "hello", "--name", "two")
    assert "two" in ok("list", "hello", "--status", "RUNNING")
    assert "two" in ok("list", "hello", "--status", "running")  # in any case
    unnamed = runner.invoke(cli, ["pipelines", "list", "--status", "FAILED"])
    assert unnamed.exit_code == 2 and "name the pipeline" in unnamed.output
    assert "ABORTED" in ok("stop", "hello", "two", "--cause", "enough")
    listed = ok("list").splitlines()
    assert listed[0].split()[:6] == ["NAME", "TYPE", "LAST", "EXECUTION", "STATUS", "STARTED"]
    assert next(line for line in listed if line.startswith("hello")).split()[2:4] == [
        "two",
        "ABORTED",
    ]
    # Without an execution, the pipeline itself and its latest executions, newest first.
    shown = ok("describe", "hello").splitlines()
    assert shown[0].split() == ["hello", "STANDARD", "ACTIVE"]
    assert "states:   1 at the top level: Nap" in shown
    assert [line.split()[:2] for line in shown[-2:]] == [["two", "ABORTED"], ["one", "SUCCEEDED"]]
    described = json.loads(ok("describe", "hello", "--json"))
    assert described["name"] == "hello"
    assert [e["name"] for e in described["latest_executions"]] == ["two", "one"]
    other = tmp_path / "other.asl.json"
    other.write_text(json.dumps(NAP))
    assert ok("create", str(other)).startswith("other: arn:aws:states:")
    failed = runner.invoke(cli, ["pipelines", "describe", "hello", "missing"])
    assert failed.exit_code != 0 and "missing" in failed.output
    # ARNs as a Step Functions user has them: the machine's (of any region) names the pipeline;
    # an execution's of another machine is refused, not read as hello's execution of its name
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:hello"
    assert "ABORTED" in ok("describe", machine, "two")
    assert "two" in ok("list", machine)
    ok("run", "other", "--name", "two")
    theirs = "arn:aws:states:us-east-1:000000000000:execution:other:two"
    refused = runner.invoke(cli, ["pipelines", "stop", "hello", theirs])
    assert refused.exit_code == 2 and "not of 'hello'" in refused.output
    assert "RUNNING" in ok("describe", "other", theirs)


def test_cli_create_and_update_print_what_the_server_warns_of(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", url)
    slip = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "$.error"}}}
    path = tmp_path / "slip.asl.json"
    path.write_text(json.dumps(slip))
    runner = CliRunner()
    made = runner.invoke(cli, ["pipelines", "create", str(path), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["name"] == "slip"  # stdout stays the answer alone
    assert "warning: /States/F/Error: " in made.stderr and "(NO_PATH)" in made.stderr
    assert '"ErrorPath"' in made.stderr
    path.write_text(json.dumps(CHAIN))
    clean = runner.invoke(cli, ["pipelines", "update", "slip", str(path)])
    assert clean.exit_code == 0 and clean.stderr == "", clean.output


def test_the_embedded_default_runs_executions_on_a_local_server(tmp_path: Path) -> None:
    import os
    import signal

    import dockyard as dy
    from dockyard.client.sdk import reset_context

    home = tmp_path / "client"
    reset_context(Settings(home=home))
    try:
        dy.create_pipeline("hello", CHAIN)
        started = dy.start_execution("hello", {"who": "notebook"})
        ended = dy.describe_execution("hello", started.execution_arn, wait=30)
        assert ended.status.value == "SUCCEEDED"
        assert json.loads(ended.output or "") == {"greeting": "hi notebook"}
    finally:
        reset_context(Settings(home=tmp_path / "other"))
        state = home / "server.json"
        if state.exists():  # the local server outlives its SDK by design: stop it here
            os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)


def test_a_listing_reads_in_a_client_older_than_its_activity_fields(client: Client) -> None:
    # A client's models refuse fields they do not know: one older than last_execution and
    # running reads a listing that does not ask for them, as it did before they came.
    sdk.create_pipeline("nap", NAP, client=client)
    sdk.start_execution("nap", name="n", client=client)
    plain = client.call(routes.LIST_PIPELINES())
    assert [sorted(m) for m in plain["state_machines"]] == [["arn", "created_time", "name", "type"]]
    assert sorted(plain) == ["state_machines"]
    asked = client.call(routes.LIST_PIPELINES(), params={"activity": True})["state_machines"]
    assert asked[0]["last_execution"]["name"] == "n" and asked[0]["running"] == 1
