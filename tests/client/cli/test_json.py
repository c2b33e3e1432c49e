"""Every command has a --json form, against a real server: what a command changed when the
server answers it with nothing to show (a delete, a revoke) prints one shape, naming the thing
and what was done; errors keep stdout empty, exit non-zero and print no traceback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.cli import cli
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


def _commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                found = command.get_command(ctx, name)
                assert found is not None
                yield from walk(found, f"{path} {name}".strip())
        else:
            yield path, command

    yield from walk(cli, "")


def test_every_command_but_the_server_takes_json() -> None:
    found = dict(_commands())
    assert len(found) > 100 and "experiments delete" in found
    lacking = sorted(
        path
        for path, command in found.items()
        if not any("--json" in p.opts for p in command.params) and path != "server"
    )
    assert lacking == []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("json") / "home")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def runner(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    yield CliRunner()
    reset_context(Settings(home=tmp_path / "client"))


def _json(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _said(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _refused(runner: CliRunner, *args: str) -> Result:
    """A command that fails under --json: stdout stays empty (nothing for a script to take
    for an answer), one error line on stderr, exit 2, no traceback."""
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    return result


def test_experiments_and_runs(runner: CliRunner) -> None:
    made = _json(runner, "experiments", "create", "churn")
    ident = made["experiment_id"]
    renamed = _json(runner, "experiments", "rename", "churn", "churn-2")
    assert (renamed["experiment_id"], renamed["name"]) == (ident, "churn-2")
    assert _json(runner, "experiments", "delete", "churn-2") == {
        "name": "churn-2",
        "kind": "experiment",
        "deleted": True,
        "experiment_id": ident,
    }
    restored = _json(runner, "experiments", "restore", "churn-2")
    assert restored["lifecycle_stage"] == "active"
    assert _said(runner, "experiments", "delete", ident) == f"deleted experiment {ident}\n"
    _refused(runner, "experiments", "delete", "no-such")

    dy.set_experiment("json-runs")
    with dy.start_run() as run:
        dy.log_param("depth", 3)
    run_id = run.run_id
    deleted = _json(runner, "runs", "delete", run_id)
    assert deleted == {"name": run_id, "kind": "run", "deleted": True}
    back = _json(runner, "runs", "restore", run_id)
    assert back["info"]["lifecycle_stage"] == "active" and back["params"] == {"depth": "3"}
    assert _said(runner, "runs", "delete", run_id) == f"deleted run {run_id}\n"
    assert _said(runner, "runs", "restore", run_id) == f"restored run {run_id}\n"
    _refused(runner, "runs", "delete", "f" * 32)


def test_models_and_endpoints(runner: CliRunner) -> None:
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8.0) * 2})
    dy.set_experiment("json-models")
    for _ in range(2):
        with dy.start_run():
            fitted = LinearRegression().fit(frame, frame["a"])
            dy.log_model(fitted, "model", input_example=frame.head(2), registered_model_name="lin")
    pointed = _json(runner, "models", "alias", "lin", "champion", "1")
    assert (pointed["name"], pointed["version"]) == ("lin", 1)
    assert _json(runner, "models", "alias", "lin", "champion", "--delete") == {
        "name": "champion",
        "kind": "alias",
        "deleted": True,
        "model": "lin",
    }
    _refused(runner, "models", "alias", "lin", "champion", "--delete")
    assert _json(runner, "models", "delete", "lin", "2", "--yes") == {
        "name": "lin",
        "kind": "model_version",
        "deleted": True,
        "version": 2,
    }
    _refused(runner, "models", "delete", "lin", "2", "--yes")

    made = _json(runner, "endpoints", "create", "--name", "lin-web", "--model", "models:/lin/1")
    assert made["name"] == "lin-web"
    key = _json(runner, "endpoints", "keys", "create", "lin-web")["key_id"]
    assert _json(runner, "endpoints", "keys", "delete", "lin-web", key, "--yes") == {
        "name": key,
        "kind": "endpoint_key",
        "revoked": True,
        "endpoint": "lin-web",
    }
    _refused(runner, "endpoints", "keys", "delete", "lin-web", key, "--yes")
    gone = _json(runner, "endpoints", "delete", "lin-web", "--yes")
    assert {k: gone[k] for k in ("name", "kind", "deleted")} == {
        "name": "lin-web",
        "kind": "endpoint",
        "deleted": True,
    }
    assert gone["status"] in ("Deleting", "Deleted"), gone

    # A model is not deleted while an endpoint serves it: wait for the endpoint to drain.
    deadline = time.monotonic() + 60
    while runner.invoke(cli, ["endpoints", "describe", "lin-web"]).exit_code == 0:
        assert time.monotonic() < deadline, "the endpoint was not deleted within 60 s"
        time.sleep(0.1)
    assert _json(runner, "models", "delete", "lin", "--yes") == {
        "name": "lin",
        "kind": "registered_model",
        "deleted": True,
    }
    assert _json(runner, "models", "list") == []


def test_notifications_and_params(runner: CliRunner) -> None:
    _json(runner, "topics", "create", "alerts")
    made = _json(
        runner,
        "subscriptions",
        "create",
        "--events",
        "alerts",
        "--url",
        "https://hooks.example.com/in",
        "--name",
        "ops",
    )
    assert made["name"] == "ops"
    assert _json(runner, "subscriptions", "delete", "ops", "--yes") == {
        "name": "ops",
        "kind": "subscription",
        "deleted": True,
    }
    _refused(runner, "subscriptions", "delete", "ops", "--yes")
    assert _json(runner, "topics", "delete", "alerts", "--yes") == {
        "name": "alerts",
        "kind": "topic",
        "deleted": True,
    }
    _refused(runner, "topics", "delete", "alerts", "--yes")

    _json(runner, "params", "put", "/team/threshold", "0.5")
    assert _json(runner, "params", "delete", "/team/threshold", "--yes") == {
        "name": "/team/threshold",
        "kind": "parameter",
        "deleted": True,
    }
    _refused(runner, "params", "delete", "/team/threshold", "--yes")
    _refused(runner, "triggers", "delete", "no-such", "--yes")
    _refused(runner, "monitor", "schedules", "delete", "no-such", "--yes")


def test_a_pipeline_graph_as_json_says_how_each_state_went(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "hop.asl.json"
    path.write_text(
        json.dumps(
            {
                "StartAt": "A",
                "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}},
            }
        )
    )
    drawn = _json(runner, "pipelines", "graph", str(path))
    assert drawn["format"] == "mermaid" and drawn["status"] == {}
    assert drawn["graph"] == _said(runner, "pipelines", "graph", str(path))
    _json(runner, "pipelines", "run", str(path), "--name", "once", "--wait")
    ran = _json(runner, "pipelines", "graph", "hop", "once", "--format", "dot")
    assert ran["status"] == {"A": "succeeded", "B": "succeeded"}
    assert ran["graph"].startswith("digraph")
    assert _json(runner, "pipelines", "delete", "hop", "--yes") == {
        "name": "hop",
        "kind": "pipeline",
        "deleted": True,
    }


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # An empty name made another route's path (/runs/, which the server redirects to
        # the list): a traceback, or for a delete a success with nothing deleted.
        (["runs", "show", ""], "error: run_id: must not be empty\n"),
        (["runs", "delete", ""], "error: run_id: must not be empty\n"),
        (["endpoints", "delete", "", "--yes"], "error: name: must not be empty\n"),
        (["jobs", "describe", ""], "error: name: must not be empty\n"),
    ],
)
def test_an_empty_name_is_refused_by_name(runner: CliRunner, args: list[str], said: str) -> None:
    result = _refused(runner, *args)
    assert result.stderr == said


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "show", "s3://"],
        ["runs", "delete", "abc/"],
        ["endpoints", "delete", "a/", "--yes"],
        ["subscriptions", "describe", "s3://"],
    ],
)
def test_a_name_the_server_reads_as_another_path_is_not_found(
    runner: CliRunner, args: list[str]
) -> None:
    # The server redirects such a path (to it without its trailing slash); the client read
    # the redirect as an empty answer: a traceback, or a delete said done.
    result = _refused(runner, *args)
    assert "no such resource" in result.stderr and "answered 307" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["pipelines", "graph", "x" * 300],
        ["pipelines", "run", "x" * 300],
        ["models", "env", "x" * 300],
    ],
)
def test_a_name_too_long_for_a_file_is_one_line(runner: CliRunner, args: list[str]) -> None:
    # Each first asks whether it names a local file, which raised OSError: a traceback.
    result = _refused(runner, *args)
    assert result.stderr.startswith("error: File name too long: xxx"), result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["params", "label", "/p", "99999999999999999999", "prod"], "'VERSION'"),
        (["subscriptions", "replay", "s", "--delivery", "99999999999999999999"], "'--delivery'"),
    ],
)
def test_a_number_past_what_json_carries_is_refused_by_name(
    runner: CliRunner, args: list[str], named: str
) -> None:
    # The JSON encoder refused it with a traceback.
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"Invalid value for {named}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # Bytes that are not UTF-8 reach Python's argv as surrogates ('caf\xe9' in Latin-1).
        (["runs", "show", "caf\udce9"], "error: not UTF-8 text: 'caf\\udce9'\n"),
        (["params", "get", "caf\udce9"], "error: not UTF-8 text: 'caf\\udce9'\n"),
        (
            ["experiments", "create", "caf\udce9"],
            "error: the request cannot be sent as JSON: str is not valid UTF-8: surrogates not "
            "allowed\n",
        ),
    ],
)
def test_an_argument_that_is_not_utf8_is_one_line(
    runner: CliRunner, args: list[str], said: str
) -> None:
    result = _refused(runner, *args)
    assert result.stderr == said


_SCRIPT = """
import sys, time
print("started", flush=True)
if "--sleep" in sys.argv:
    time.sleep(120)
"""


@pytest.mark.slow
def test_jobs_logs_and_stop(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(_SCRIPT)
    spec = tmp_path / "job.yaml"
    spec.write_text("name: quick\nentry_point: train.py\nsource_dir: .\n")
    assert _json(runner, "jobs", "submit", str(spec), "--wait")["status"] == "Completed"
    pages = [
        json.loads(line) for line in _said(runner, "jobs", "logs", "quick", "--json").splitlines()
    ]
    assert len(pages) == 1 and pages[0]["ended"] is True
    assert pages[0]["text"].endswith("started\n") and pages[0]["offset"] == len(pages[0]["text"])
    followed = _said(runner, "jobs", "logs", "quick", "--follow", "--json").splitlines()
    # Following, the last object says the job has ended, with no more text.
    assert json.loads(followed[-1]) == {"text": "", "offset": pages[0]["offset"], "ended": True}
    assert "".join(json.loads(line)["text"] for line in followed) == pages[0]["text"]
    _refused(runner, "jobs", "logs", "no-such")

    spec.write_text(
        "name: sleepy\nentry_point: train.py\nsource_dir: .\nhyperparameters: {sleep: 1}\n"
    )
    _json(runner, "jobs", "submit", str(spec))
    stopped = _json(runner, "jobs", "stop", "sleepy")
    assert stopped["name"] == "sleepy" and stopped["status"] in ("Stopping", "Stopped"), stopped
    _refused(runner, "jobs", "stop", "no-such")


@pytest.fixture
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: its first account turns sign-in on."""
    proc = ServerProcess(tmp_path_factory.mktemp("json-team") / "home")
    proc.start()
    yield proc
    proc.stop()


def test_accounts_login_and_logout(
    team: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("DOCKYARD_URI", team.url)
    reset_context()
    runner = CliRunner()
    password = "correct horse battery\n"
    made = runner.invoke(
        cli, ["users", "create", "root", "--role", "admin", "--password-stdin"], input=password
    )
    assert made.exit_code == 0, made.output
    monkeypatch.delenv("DOCKYARD_URI")  # login names its server: the hint goes to stderr
    signed = runner.invoke(
        cli,
        ["login", "--url", team.url, "-u", "root", "--password-stdin", "--json"],
        input=password,
    )
    assert signed.exit_code == 0, signed.output
    saved = tmp_path / "config" / "dockyard" / "credentials.json"
    assert json.loads(signed.stdout) == {
        "name": team.url,
        "kind": "server",
        "signed_in": True,
        "user": "root",
        "role": "admin",
        "token_file": str(saved),
    }
    assert signed.stderr == f"note: other commands use it with: export DOCKYARD_URI={team.url}\n"
    monkeypatch.setenv("DOCKYARD_URI", team.url)

    token = _json(runner, "tokens", "create", "--name", "ci")["token_id"]
    assert _json(runner, "tokens", "revoke", token, "--yes") == {
        "name": token,
        "kind": "token",
        "revoked": True,
    }
    key = _json(runner, "access-keys", "create", "--name", "nb")["access_key_id"]
    assert _json(runner, "access-keys", "revoke", key, "--yes") == {
        "name": key,
        "kind": "access_key",
        "revoked": True,
    }
    _refused(runner, "access-keys", "revoke", "DYAKNOSUCHKEY0000000", "--yes")
    _said(runner, "users", "create", "bob", "--role", "member", "--no-password")
    assert _json(runner, "users", "delete", "bob", "--yes") == {
        "name": "bob",
        "kind": "user",
        "deleted": True,
    }
    _refused(runner, "users", "delete", "bob", "--yes")

    out = {"name": team.url, "kind": "server", "signed_out": True}
    assert _json(runner, "logout") == {**out, "revoked": True}
    assert _json(runner, "logout") == {**out, "revoked": False}  # no token left to revoke
    assert _said(runner, "logout") == f"no token saved for {team.url}\n"
