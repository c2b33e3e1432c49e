"""The CLI in-process (click's runner) over the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import dockyard as dy
from dockyard.client.cli import cli
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    return CliRunner()


def _seed(tmp_path: Path) -> list[str]:
    reset_context(Settings(home=tmp_path / "home"))
    dy.set_experiment("cli")
    ids = []
    for depth in (2, 4):
        with dy.start_run(run_name=f"d{depth}") as run:
            dy.log_param("depth", depth)
            dy.log_metric("rmse", depth / 10)
        ids.append(run.run_id)
    return ids


def test_experiments_create_list_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["experiments", "create", "alpha"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["experiments", "list", "--json"])
    assert [e["name"] for e in json.loads(listed.output)] == ["Default", "alpha"]
    table = runner.invoke(cli, ["experiments", "list"]).output
    assert table.splitlines()[0].split() == ["ID", "NAME", "STAGE", "CREATED"]


def test_an_experiment_deleted_by_name_is_restored_by_name(runner: CliRunner) -> None:
    made = runner.invoke(cli, ["experiments", "create", "churn"])
    assert made.exit_code == 0, made.output
    deleted = runner.invoke(cli, ["experiments", "delete", "churn"])
    assert deleted.output == "deleted experiment 1\n"
    restored = runner.invoke(cli, ["experiments", "restore", "churn"])
    assert restored.exit_code == 0, restored.output
    assert restored.output == "restored experiment 1\n"
    assert runner.invoke(cli, ["experiments", "restore", "1"]).exit_code == 0  # or by id
    listed = json.loads(runner.invoke(cli, ["experiments", "list", "--json"]).output)
    assert [(e["name"], e["lifecycle_stage"]) for e in listed] == [
        ("Default", "active"),
        ("churn", "active"),
    ]


def test_runs_list_show_compare(runner: CliRunner, tmp_path: Path) -> None:
    a, b = _seed(tmp_path)
    listed = runner.invoke(cli, ["runs", "list", "-e", "cli", "-o", "metrics.rmse DESC", "--json"])
    assert [r["info"]["run_id"] for r in json.loads(listed.output)] == [b, a]
    assert listed.stderr == ""
    # None named and none in Default: the list stays empty, and stderr says where it looked.
    default = runner.invoke(cli, ["runs", "list", "--json"])
    assert json.loads(default.stdout) == []
    assert default.stderr.startswith("note: no runs in the Default experiment (id 0)")
    shown = runner.invoke(cli, ["runs", "show", a])
    assert "depth" in shown.output and "rmse" in shown.output
    compared = runner.invoke(cli, ["runs", "compare", a, b])
    assert compared.exit_code == 0
    row = next(line for line in compared.output.splitlines() if line.startswith("params.depth"))
    assert row.split() == ["params.depth", "2", "4"]


def test_runs_tables_show_run_names_and_metric_keys_as_they_are(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Headers are upper case, but a run named ``xgb-Depth5`` or a metric ``val_RMSE`` is data:
    shown in upper case it names nothing that ``-f``/``-o`` or ``runs show`` would find."""
    reset_context(Settings(home=tmp_path / "home"))
    dy.set_experiment("case")
    ids = []
    for name in ("xgb-Depth5", "lgbm-Depth3"):
        with dy.start_run(run_name=name) as run:
            dy.log_metric("val_RMSE", 0.5)
        ids.append(run.run_id)
    listed = runner.invoke(cli, ["runs", "list", "-e", "case"])
    assert listed.output.splitlines()[0].split() == [
        "RUN_ID",
        "NAME",
        "STATUS",
        "STARTED",
        "val_RMSE",
    ]
    compared = runner.invoke(cli, ["runs", "compare", *ids])
    assert compared.output.splitlines()[0].split() == ["xgb-Depth5", "lgbm-Depth3"]
    assert "metrics.val_RMSE" in compared.output


def test_runs_list_all_says_which_runs_are_deleted(runner: CliRunner, tmp_path: Path) -> None:
    a, b = _seed(tmp_path)
    assert runner.invoke(cli, ["runs", "delete", a]).exit_code == 0
    lines = runner.invoke(cli, ["runs", "list", "-e", "cli", "--all"]).output.splitlines()
    assert lines[0].split() == ["RUN_ID", "NAME", "STATUS", "STAGE", "STARTED", "rmse"]
    stages = {line.split()[0]: line.split()[3] for line in lines[1:]}
    assert stages == {a: "deleted", b: "active"}
    shown = runner.invoke(cli, ["runs", "show", a]).output.splitlines()
    assert shown[1].endswith("status: FINISHED   (deleted: dockyard runs restore)"), shown
    assert "deleted" not in runner.invoke(cli, ["runs", "show", b]).output
    # Without --all only active runs are listed, and the table has no such column.
    plain = runner.invoke(cli, ["runs", "list", "-e", "cli"]).output.splitlines()
    assert plain[0].split() == ["RUN_ID", "NAME", "STATUS", "STARTED", "rmse"]
    assert [line.split()[0] for line in plain[1:]] == [b]


def test_errors_are_one_line_with_exit_code(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["runs", "show", "f" * 32])
    assert result.exit_code == 2
    assert result.output.startswith("error: run") and "Traceback" not in result.output
    bad = runner.invoke(cli, ["runs", "list", "-f", "metrics.rmse <<< 2"])
    assert bad.exit_code == 2 and bad.output.endswith("(--filter)\n"), bad.output


def test_runs_list_names_the_flag_that_gave_a_bad_value(runner: CliRunner, tmp_path: Path) -> None:
    """As the README says of every flag: not the request body's ``order_by.1`` or ``name``."""
    _seed(tmp_path)
    order = runner.invoke(cli, ["runs", "list", "-e", "cli", "-o", "metrics.rmse", "-o", "nope"])
    assert order.exit_code == 2
    assert order.output.startswith("error: invalid --order-by[1] at column 1: unknown attribute")
    assert order.output.endswith("(--order-by)\n"), order.output
    missing = runner.invoke(cli, ["runs", "list", "-e", "no-such-experiment"])
    assert missing.exit_code == 2
    assert (
        missing.output == "error: experiment 'no-such-experiment' does not exist (--experiment)\n"
    )


def test_a_server_url_without_its_scheme_is_refused_in_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", "127.0.0.1:5050")
    result = runner.invoke(cli, ["experiments", "list"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: the server URL '127.0.0.1:5050' is not an http(s) URL: write it as "
        "http://host:port (DOCKYARD_URI) (uri)\n"
    )


def test_runs_list_says_a_filter_matched_none_in_default(runner: CliRunner, tmp_path: Path) -> None:
    reset_context(Settings(home=tmp_path / "home"))
    with dy.start_run(run_name="shallow"):  # in Default: there are runs, none matches
        dy.log_metric("rmse", 0.2)
    matched = runner.invoke(cli, ["runs", "list", "-f", "metrics.rmse > 1", "--json"])
    assert matched.exit_code == 0 and json.loads(matched.stdout) == []
    assert matched.stderr.startswith(
        "note: no runs matching the filter in the Default experiment (id 0)"
    )
    assert runner.invoke(cli, ["runs", "list", "-f", "metrics.rmse < 1"]).stderr == ""


def test_a_mistyped_command_is_told_the_one_meant() -> None:
    # The top level imports its commands lazily; click suggested only among those loaded.
    for typed, meant in (("monitoring", "monitor"), ("pipeline", "pipelines")):
        refused = CliRunner().invoke(cli, [typed, "list"])
        assert refused.exit_code == 2
        assert f"No such command {typed!r}. Did you mean {meant!r}?" in refused.output


def test_a_dot_segment_name_is_a_name(runner: CliRunner) -> None:
    # The embedded default's transport resolved ".." away: 'experiments show ..' read the list
    # of experiments as one and failed with a traceback.
    assert runner.invoke(cli, ["experiments", "create", ".."]).exit_code == 0
    shown = runner.invoke(cli, ["experiments", "show", "..", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["name"] == ".."
