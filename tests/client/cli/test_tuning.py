"""``dockyard tuning`` against a real server: submit a SageMaker-spelled spec file and wait,
list, describe, trials, stop; a bad spec is refused naming its field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.server.tuning.conftest import SCRIPTS, server_env
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli

SPEC = """\
HyperParameterTuningJobName: cli-tune
HyperParameterTuningJobConfig:
  Strategy: Random
  RandomSeed: 3
  HyperParameterTuningJobObjective: {Type: Minimize, MetricName: loss}
  ResourceLimits: {MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 2}
  ParameterRanges:
    ContinuousParameterRanges: [{Name: x, MinValue: 0, MaxValue: 1}]
TrainingJobDefinition:
  entry_point: trial.py
  source_dir: code
  resources: {cpus: 0.5}
  MetricDefinitions: [{Name: loss, Regex: 'loss=([0-9.]+)'}]
"""


@pytest.fixture
def runner(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    server = ServerProcess(tmp_path / "home", env=server_env(tmp_path_factory))
    server.start()
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "client"))
    yield CliRunner()
    server.stop()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["tuning", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_submit_wait_list_describe_trials_stop(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(SCRIPTS, tmp_path / "code")  # a local folder: uploaded at submit
    spec = tmp_path / "tune.yaml"
    spec.write_text(SPEC)
    done = json.loads(_ok(runner, "submit", str(spec), "--wait", "--json"))
    assert done["status"] == "Completed" and done["counts"]["completed"] == 3
    assert done["spec"]["training_job"]["source_dir"] != str(tmp_path / "code")
    listed = _ok(runner, "list").splitlines()
    assert listed[0].split()[:3] == ["NAME", "STATUS", "STRATEGY"]
    assert listed[1].split()[:4] == ["cli-tune", "Completed", "Random", "3"]
    described = _ok(runner, "describe", "cli-tune")
    assert described.startswith("cli-tune  Completed\nstrategy:   Random, Minimize loss")
    assert f"best:       {done['best_trial']['objective']:g}" in described
    trials = json.loads(_ok(runner, "trials", "cli-tune", "--json"))
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert "cli-tune: Completed" in _ok(runner, "stop", "cli-tune")  # ended: nothing to stop


def test_a_bad_spec_names_its_field(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "tune.yaml"
    spec.write_text(SPEC.replace("MaxParallelTrainingJobs: 2", "MaxParallelTrainingJobs: 0"))
    result = runner.invoke(cli, ["tuning", "submit", str(spec)])
    assert result.exit_code != 0
    assert "ResourceLimits.MaxParallelTrainingJobs" in result.output


SAGEMAKER_SPEC = """\
HyperParameterTuningJobName: sm-tune
HyperParameterTuningJobConfig:
  Strategy: Random
  HyperParameterTuningJobObjective: {Type: Minimize, MetricName: "validation:rmse"}
  ResourceLimits: {MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1}
  ParameterRanges:
    IntegerParameterRanges: [{Name: max_depth, MinValue: "2", MaxValue: "6"}]
TrainingJobDefinition:
  AlgorithmSpecification: {TrainingImage: xgboost, TrainingInputMode: File}
  StaticHyperParameters: {num_round: "5", objective: "reg:squarederror"}
  InputDataConfig:
    - ChannelName: train
      ContentType: text/csv
      DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: data/train}}
  ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 1, VolumeSizeInGB: 10}
  StoppingCondition: {MaxRuntimeInSeconds: 600}
"""


def _as_list(text: str) -> str:
    """The same body with SageMaker's TrainingJobDefinitions: a list of one definition."""
    head, _, definition = text.partition("TrainingJobDefinition:\n")
    lines = definition.splitlines()
    listed = ["  - " + lines[0].strip()] + ["  " + line for line in lines[1:]]
    return head + "TrainingJobDefinitions:\n" + "\n".join(listed) + "\n"


@pytest.mark.parametrize("shape", ["one", "list"])
def test_a_sagemaker_training_definition_is_read_as_the_sagemaker_api_reads_it(
    runner: CliRunner, tmp_path: Path, shape: str
) -> None:
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "train" / "part.csv").write_text("1,2\n0,1\n")
    spec = tmp_path / "tune.yaml"
    spec.write_text(SAGEMAKER_SPEC if shape == "one" else _as_list(SAGEMAKER_SPEC))
    job = json.loads(_ok(runner, "submit", str(spec), "--json"))
    trial = job["spec"]["training_job"]
    assert trial["algorithm"] == "xgboost"  # the image, not silently dropped
    assert trial["hyperparameters"] == {"num_round": "5", "objective": "reg:squarederror"}
    assert trial["stopping_condition"]["max_runtime_s"] == 600
    assert "/jobs/inputs/train/" in trial["inputs"]["train"]["uri"]  # the local folder, uploaded
    _ok(runner, "stop", "sm-tune")


def test_dockyard_fields_in_a_sagemaker_definition_are_refused_not_dropped(
    runner: CliRunner, tmp_path: Path
) -> None:
    spec = tmp_path / "tune.yaml"
    head = SAGEMAKER_SPEC.partition("  InputDataConfig:")[0]
    body = head + "  inputs: {train: s3://b/train}\n"
    spec.write_text(body)
    result = runner.invoke(cli, ["tuning", "submit", str(spec)])
    assert result.exit_code != 0
    assert "TrainingJobDefinition.inputs" in result.output


@pytest.mark.slow
def test_submit_wait_exits_non_zero_when_the_tuning_job_fails(
    runner: CliRunner, tmp_path: Path
) -> None:
    shutil.copytree(SCRIPTS, tmp_path / "code")
    spec = tmp_path / "tune.yaml"
    failing = SPEC.replace("MaxNumberOfTrainingJobs: 3", "MaxNumberOfTrainingJobs: 1")
    spec.write_text(failing + "  hyperparameters: {depth: not-a-number}\n")
    result = runner.invoke(cli, ["tuning", "submit", str(spec), "--wait"])
    assert result.exit_code == 1, result.output
    assert "cli-tune  Failed" in result.output
