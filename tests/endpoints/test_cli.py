"""``dockyard endpoints`` against a real server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tests.services.server_process import ServerProcess

from dockyard.cli import cli
from dockyard.sdk import reset_context

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
        ["endpoints", "update", "cli", "--model", models["ten"], "--canary", "50%", "--bake", "1s"],
    )
    assert updated.exit_code == 0, updated.output
    assert "canary: 50% for 1 s, 100% for 1 s" in updated.output
    described = json.loads(runner.invoke(cli, ["endpoints", "describe", "cli", "--json"]).output)
    assert described["config"]["rollout"]["strategy"] == "canary"
    assert described["status"] == "InService"
    # The local model folder was uploaded: the config names the store, not the client's disk.
    uploaded = described["config"]["variants"][0]["model_uri"]
    assert uploaded.startswith(str(server.home / "artifacts" / "data" / "models"))
    listed = runner.invoke(cli, ["endpoints", "list"]).output
    assert "cli" in listed and "primary=100%" in listed
    bad = runner.invoke(cli, ["endpoints", "update", "cli", "--canary", "lots"])
    assert bad.exit_code == 2 and "(canary)" in bad.output
    deleted = runner.invoke(cli, ["endpoints", "delete", "cli"])
    assert deleted.exit_code == 0
    reset_context()
