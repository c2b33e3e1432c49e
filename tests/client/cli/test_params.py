"""``dockyard params`` in-process (click's runner) over the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.client.cli import cli
from dockyard.server.params._secrets import new_key


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKYARD_PARAMS_KEY", new_key())
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    return CliRunner()


def _ok(runner: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(cli, ["params", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_put_get_versions_labels_history(runner: CliRunner) -> None:
    assert _ok(runner, "put", "/team/threshold", "0.5") == "/team/threshold: version 1 (String)\n"
    refused = runner.invoke(cli, ["params", "put", "/team/threshold", "0.6"])
    assert refused.exit_code == 2 and "overwrite" in refused.output and "(NAME)" in refused.output
    _ok(runner, "put", "/team/threshold", "0.6", "--overwrite")
    assert json.loads(_ok(runner, "get", "/team/threshold", "--json"))["value"] == "0.6"
    _ok(runner, "label", "/team/threshold", "1", "prod", "stable")
    shown = _ok(runner, "get", "/team/threshold:prod")
    assert shown.splitlines() == ["/team/threshold  version 1  String  labels: prod, stable", "0.5"]
    history = _ok(runner, "history", "/team/threshold").splitlines()
    assert history[0].split() == ["VERSION", "VALUE", "LABELS", "BY", "MODIFIED"]
    assert history[1].split()[:3] == ["1", "0.5", "prod,stable"]
    assert json.loads(_ok(runner, "history", "/team/threshold", "--json"))[1]["version"] == 2


def test_list_by_path_and_delete(runner: CliRunner) -> None:
    _ok(runner, "put", "/a/x", "1")
    _ok(runner, "put", "/a/b/y", "p,q", "--type", "StringList")
    assert [p["name"] for p in json.loads(_ok(runner, "list", "/a", "--json"))] == ["/a/x"]
    deep = json.loads(_ok(runner, "list", "/a", "--recursive", "--json"))
    assert [(p["name"], p["values"]) for p in deep] == [("/a/b/y", ["p", "q"]), ("/a/x", None)]
    assert _ok(runner, "list", "/a").splitlines()[0].split()[:3] == ["NAME", "TYPE", "VERSION"]
    # Nothing directly under /, but deeper: said on stderr, the output stays the (empty) list.
    top = runner.invoke(cli, ["params", "list", "--json"])
    assert top.exit_code == 0 and json.loads(top.stdout) == []
    assert top.stderr == (
        "note: no parameter directly under /; there are deeper ones, such as /a/b/y: add "
        "--recursive (-r) to list them\n"
    )
    assert runner.invoke(cli, ["params", "list", "/none"]).stderr == ""
    _ok(runner, "delete", "/a/x", "--yes")
    missing = runner.invoke(cli, ["params", "get", "/a/x"])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_secrets_are_masked_unless_decrypted(runner: CliRunner) -> None:
    _ok(runner, "put", "/db/pw", "-", "--secure", stdin="s3cret-value\n")
    assert "s3cret-value" not in _ok(runner, "list", "/db")
    assert "******" in _ok(runner, "get", "/db/pw")
    assert _ok(runner, "get", "/db/pw", "--decrypt").splitlines()[1] == "s3cret-value"
    clash = runner.invoke(cli, ["params", "put", "/db/x", "v", "--secure", "--type", "String"])
    assert clash.exit_code == 2


def test_bad_names_name_the_argument(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["params", "put", "team/x", "1"])
    assert result.exit_code == 2 and "must start with /" in result.output
    assert "(NAME)" in result.output


def test_a_bad_description_is_named_by_its_flag(runner: CliRunner) -> None:
    # The request's description field was named, for what was typed as --description.
    result = runner.invoke(cli, ["params", "put", "/team/x", "1", "--description", "x" * 2000])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --description: String should have at most 1024")
