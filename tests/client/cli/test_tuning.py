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
