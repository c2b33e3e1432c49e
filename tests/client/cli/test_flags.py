"""A bad value given by a flag is named by the flag the user typed (``--model``), not by the
spec's path to the field it sets (``variants.0.model_uri``); a spec file's own fields keep
their paths. These errors come from the client's own check of the spec, before anything is
sent: the server the CLI points at refuses every connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import dockyard.client.sdk._context as sdk_context
from dockyard.client.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    with socket.socket() as unused:  # bound, never listening: a connection is refused
        unused.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DOCKYARD_URI", f"http://127.0.0.1:{unused.getsockname()[1]}")
        monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
        monkeypatch.chdir(tmp_path)
        # The SDK's context is made from this environment on first use, and the one of the
        # tests before comes back afterwards (not one pointing at this closed port).
        monkeypatch.setattr(sdk_context, "_context", None)
        yield CliRunner()
        made = sdk_context._context
        if made is not None:
            made.close()


def _refused(runner: CliRunner, *args: str) -> Result:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["create", "--name", "no spaces", "--model", "models:/wine/1"],
            "error: --name: String should match pattern",
        ),
        (
            ["update", "wine", "--model", "models:/wine/1", "--canary", "150%"],
            "error: --canary: Input should be less than 100\n",
        ),
        (
            ["update", "wine", "--model", "models:/wine/1", "--linear", "1"],
            "error: --linear: Input should be greater than or equal to 2\n",
        ),
        (
            ["update", "wine", "--model", "models:/wine/1", "--final-bake", "-1"],
            "error: '-1' is not a duration like 60s or 5m (--final-bake)",
        ),
    ],
    ids=["name", "canary", "linear", "final-bake"],
)
def test_endpoint_flags_are_named_as_typed(runner: CliRunner, args: list[str], line: str) -> None:
    # variants.0.model_uri, rollout.canary_pct, rollout.linear_steps: none of them typed.
    result = _refused(runner, "endpoints", *args)
    assert line in result.output
    assert "variants.0" not in result.output and "rollout." not in result.output


def test_several_bad_flags_are_each_named(runner: CliRunner) -> None:
    result = _refused(
        runner,
        *("endpoints", "update", "wine", "--model", "models:/wine/1"),
        *("--max-error-rate", "2", "--min-requests", "-1"),
    )
    assert result.output.splitlines() == [
        "error: 2 problems:",
        "  --max-error-rate: Input should be less than or equal to 1",
        "  --min-requests: Input should be greater than or equal to 0",
    ]


def test_a_spec_files_fields_keep_their_paths(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "endpoint.json"
    spec.write_text(
        '{"name": "wine", "variants": [{"name": "a", "model_uri": "models:/wine/1", "weight": -1}]}'
    )
    from_file = _refused(runner, "endpoints", "create", str(spec))
    assert from_file.output.startswith("error: variants.0.weight: ")
    renamed = _refused(runner, "endpoints", "create", str(spec), "--name", "no spaces")
    assert renamed.output.startswith("error: 2 problems:\n  --name: String should match")
    assert "  variants.0.weight: " in renamed.output


def test_a_job_name_flag_is_named_as_typed(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text("entry_point: train.py\nsource_dir: s3://bucket/code\n")
    result = _refused(runner, "jobs", "submit", str(spec), "--name", "no spaces")
    assert result.output.startswith("error: --name: String should match pattern")


def test_a_transform_name_flag_wins_over_sagemakers_spelling(
    runner: CliRunner, tmp_path: Path
) -> None:
    # The spec file spells its fields as CreateTransformJob does: --name was reported as
    # TransformJobName, a field nobody wrote.
    spec = tmp_path / "transform.yaml"
    spec.write_text(
        "ModelName: wine\n"
        "TransformInput: {DataSource: {S3DataSource: {S3Uri: 's3://bucket/in'}}}\n"
        "TransformOutput: {S3OutputPath: 's3://bucket/out'}\n"
    )
    result = _refused(runner, "transform", "submit", str(spec), "--name", "no spaces")
    assert result.output.startswith("error: --name: String should match pattern")
    assert "TransformJobName" not in result.output


def test_a_tuning_name_flag_is_named_as_typed(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "tune.yaml"
    spec.write_text(
        "HyperParameterTuningJobName: tune\n"
        "HyperParameterTuningJobConfig:\n"
        "  Strategy: Random\n"
        "  HyperParameterTuningJobObjective: {Type: Minimize, MetricName: loss}\n"
        "  ResourceLimits: {MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1}\n"
        "  ParameterRanges:\n"
        "    ContinuousParameterRanges: [{Name: x, MinValue: 0, MaxValue: 1}]\n"
        "TrainingJobDefinition: {entry_point: train.py, source_dir: 's3://bucket/code'}\n"
    )
    result = _refused(runner, "tuning", "submit", str(spec), "--name", "no spaces")
    assert result.output.startswith("error: --name: String should match pattern")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--endpoint", "wine", "--baseline", "s3://bucket/base", "--schedule", "tuesdays"],
            "error: --schedule: 'tuesdays': ",
        ),
        (["--endpoint", "wine", "--baseline", "missing"], "does not exist (--baseline)"),
        (["--baseline", "s3://bucket/base"], "error: --endpoint: field required\n"),
    ],
    ids=["schedule", "baseline", "endpoint"],
)
def test_monitoring_schedule_flags_are_named_as_typed(
    runner: CliRunner, args: list[str], line: str
) -> None:
    # schedule, baseline.uri, target: the spec's fields.
    result = _refused(runner, "monitor", "schedules", "create", "--name", "watch", *args)
    assert line in result.output


def test_a_model_source_argument_is_named_as_typed(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["models", "register", str(tmp_path), "--name", "wine"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.startswith(f"error: {tmp_path} is not a model package")
    assert result.output.rstrip().endswith("(SOURCE)"), result.output


def test_an_experiment_name_argument_is_named_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server refuses the name (the embedded default: no server URL); the CLI names it."""
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    monkeypatch.setattr(sdk_context, "_context", None)
    try:
        result = CliRunner().invoke(cli, ["experiments", "create", "x" * 600])
        renamed = CliRunner().invoke(cli, ["experiments", "rename", "0", "y" * 600])
    finally:
        if sdk_context._context is not None:
            sdk_context._context.close()
    assert result.output.startswith("error: NAME: "), result.output
    assert renamed.output.startswith("error: NEW_NAME: "), renamed.output


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "-e", "fraud", "--max-results", "99999999999999999999"],
        ["models", "list", "-n", "99999999999999999999"],
        ["jobs", "list", "--limit", "99999999999999999999"],
        ["jobs", "list", "--limit", "-5"],
        ["transform", "list", "--limit", "-1"],
    ],
    ids=["runs-huge", "models-huge", "jobs-huge", "jobs-negative", "transform-negative"],
)
def test_a_listing_count_out_of_range_is_named_by_its_flag(
    runner: CliRunner, args: list[str]
) -> None:
    # These failed with a ValueError traceback from itertools.islice.
    result = _refused(runner, *args)
    assert f"{args[-1]} is not in the range 1<=x<=" in result.output


def test_a_jobs_status_flag_that_is_no_status_is_named(runner: CliRunner) -> None:
    # It printed an empty table, as if no job had that status.
    result = _refused(runner, "jobs", "list", "--status", "completed")
    assert "Invalid value for '--status': 'completed' is not one of 'Pending'" in result.output
