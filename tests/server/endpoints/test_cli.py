"""``dockyard endpoints`` against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli
from dockyard.client.sdk import reset_context

pytestmark = pytest.mark.slow


def test_create_update_invoke_list_describe_delete(
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()
    created = runner.invoke(cli, ["endpoints", "create", "--name", "cli", "--model", models["one"]])
    assert created.exit_code == 0, created.output
    assert "InService" in created.output
    body = json.dumps({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}})
    invoked = runner.invoke(cli, ["endpoints", "invoke", "cli", "-d", body])
    assert invoked.exit_code == 0 and json.loads(invoked.stdout)["predictions"][0] == (
        pytest.approx(4.0)
    )
    updated = runner.invoke(
        cli,
        [
            "endpoints",
            "update",
            "cli",
            "--model",
            models["ten"],
            "--canary",
            "50%",
            "--bake",
            "1s",
            "--min-requests",
            "0",  # nothing calls it meanwhile: let the canary pass without traffic
        ],
    )
    assert updated.exit_code == 0, updated.output
    assert "canary: 50% for 1 s, then 100%" in updated.output
    described = json.loads(runner.invoke(cli, ["endpoints", "describe", "cli", "--json"]).output)
    assert described["config"]["rollout"]["strategy"] == "canary"
    assert described["status"] == "InService" and described["failure_reason"] is None
    assert described["config"]["rollout"]["thresholds"]["min_requests"] == 0
    # The local model folder was uploaded: the config names the store, not the client's disk.
    uploaded = described["config"]["variants"][0]["model_uri"]
    assert uploaded.startswith(str(server.home / "artifacts" / "data" / "models"))
    listed = runner.invoke(cli, ["endpoints", "list"]).output
    assert "cli" in listed and "primary=100%" in listed
    bad = runner.invoke(cli, ["endpoints", "update", "cli", "--canary", "lots"])
    assert bad.exit_code == 2 and "(--canary)" in bad.output
    # No terminal to ask on: refused without --yes, and the endpoint stays.
    refused = runner.invoke(cli, ["endpoints", "delete", "cli"])
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.strip() == (
        "error: not asking to delete endpoint cli (its URL stops answering): the standard "
        "input is not a terminal; give --yes to go ahead (yes)"
    )
    assert runner.invoke(cli, ["endpoints", "describe", "cli"]).exit_code == 0
    deleted = runner.invoke(cli, ["endpoints", "delete", "cli", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    reset_context()


def test_describe_with_stats_on_a_fresh_endpoint_and_bad_durations(
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()
    created = runner.invoke(
        cli, ["endpoints", "create", "--name", "fresh", "--model", models["one"]]
    )
    assert created.exit_code == 0, created.output
    # Nothing has called it: no latency yet, which printed a traceback.
    described = runner.invoke(cli, ["endpoints", "describe", "fresh", "--stats"])
    assert described.exit_code == 0, described.output
    assert described.exception is None
    # A row per worker and variant, the worker named by its id (its log's name); a local
    # worker has no node to say.
    row = next(line for line in described.output.splitlines() if line.startswith("i-"))
    assert row.split()[1:] == ["primary", "0", "0.00%", "-", "0"], row
    for flag, value in (("--bake", "1.2.3"), ("--final-bake", "soon"), ("--canary", "1.2.3%")):
        bad = runner.invoke(cli, ["endpoints", "update", "fresh", flag, value])
        assert bad.exit_code == 2, bad.output
        assert f"({flag})" in bad.output and "Traceback" not in bad.output
    runner.invoke(cli, ["endpoints", "delete", "fresh", "--yes"])
    reset_context()


def test_invoke_with_json_prints_one_parseable_object(
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``invoke`` had no ``--json``: a script had to take the answer from stdout and the
    variant from a line on stderr. With it, stdout is one JSON object, and nothing else is
    printed; a JSON answer's body is parsed, any other kept as text."""
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()
    created = runner.invoke(
        cli, ["endpoints", "create", "--name", "asjson", "--model", models["one"]]
    )
    assert created.exit_code == 0, created.output
    body = json.dumps({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}})
    invoked = runner.invoke(cli, ["endpoints", "invoke", "asjson", "-d", body, "--json"])
    assert invoked.exit_code == 0, invoked.output
    assert invoked.stderr == ""
    answer = json.loads(invoked.stdout)
    assert answer["endpoint"] == "asjson" and answer["variant"] == "primary"
    assert answer["status_code"] == 200
    assert answer["content_type"].startswith("application/json")
    assert answer["body"]["predictions"][0] == pytest.approx(4.0)
    assert isinstance(answer["request_id"], str) and answer["request_id"]
    csv = runner.invoke(
        cli,
        [
            *("endpoints", "invoke", "asjson", "-d", "1,2,3", "--content-type", "text/csv"),
            *("--accept", "text/csv", "--json"),
        ],
    )
    assert csv.exit_code == 0, csv.output
    answered = json.loads(csv.stdout)
    assert answered["content_type"].startswith("text/csv")
    assert isinstance(answered["body"], str) and float(answered["body"]) == pytest.approx(4.0)
    # An error answer is an error as for every command: one line on stderr, exit code 2.
    bad = runner.invoke(cli, ["endpoints", "invoke", "asjson", "-d", "{", "--json"])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.output
    runner.invoke(cli, ["endpoints", "delete", "asjson", "--yes"])
    reset_context()


def test_a_bad_model_is_named_by_the_flag_or_the_spec_field_that_gave_it(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The server's checks named variants.0.model_uri where the user typed --model.
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()
    for model, said in (
        ("models:/", "error: models:/: invalid model URI 'models:/'"),
        ("models:/nosuch/1", "error: models:/nosuch/1: registered model 'nosuch' does not exist"),
    ):
        bad = runner.invoke(cli, ["endpoints", "create", "--name", "named", "--model", model])
        assert bad.exit_code == 2, bad.output
        assert bad.output.startswith(said) and bad.output.rstrip().endswith("(--model)")
    spec = tmp_path / "endpoint.json"
    spec.write_text('{"name": "named", "variants": [{"name": "a", "model_uri": "models:/"}]}')
    from_file = runner.invoke(cli, ["endpoints", "create", str(spec)])
    assert from_file.exit_code == 2, from_file.output
    assert from_file.output.rstrip().endswith("(variants.0.model_uri)")
    reset_context()
