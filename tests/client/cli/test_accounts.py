"""``dockyard access-keys`` in-process (click's runner) over the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.client.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_access_keys_create_list_revoke(runner: CliRunner) -> None:
    _ok(runner, "users", "create", "ana", "--role", "admin", "--no-password")
    printed = _ok(runner, "access-keys", "create", "--user", "ana", "--name", "notebook")
    lines = printed.splitlines()
    assert lines[0].startswith("AWS_ACCESS_KEY_ID=DYAK") and len(lines[0]) == 38
    assert lines[1].startswith("AWS_SECRET_ACCESS_KEY=") and "shown only now" in lines[2]
    key_id = lines[0].partition("=")[2]
    listed = json.loads(_ok(runner, "access-keys", "list", "--json"))
    assert [(k["access_key_id"], k["user"], k["name"]) for k in listed] == [
        (key_id, "ana", "notebook")
    ]
    assert "secret_access_key" not in listed[0]
    assert _ok(runner, "access-keys", "revoke", key_id, "--yes") == f"revoked {key_id}\n"
    table = _ok(runner, "access-keys", "list").splitlines()
    assert table[1].split()[0] == key_id and table[1].split()[-1] == "revoked"
    refused = runner.invoke(cli, ["access-keys", "create"])
    assert refused.exit_code != 0 and "user" in refused.output


@pytest.mark.parametrize("command", ["tokens", "access-keys"])
def test_a_bad_lifetime_is_named_by_its_flag(runner: CliRunner, command: str) -> None:
    # The server's check named ttl_days, a field of a request body nobody wrote.
    refused = runner.invoke(cli, [command, "create", "--name", "ci", "--ttl-days", "0"])
    assert refused.exit_code == 2, refused.output
    assert refused.output == "error: --ttl-days: Input should be greater than 0\n"
