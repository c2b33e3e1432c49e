"""The tuning loop against a real server: trials are training jobs with nested runs, failed
trials run once more, early stopping stops the trial worse than the median, a stop ends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.server.notifications._receiver import until
from tests.server.tuning.conftest import ended, events, trial_job, trials

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.slow


def config(strategy: str = "Random", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "x", "MinValue": 0, "MaxValue": 1}],
            "IntegerParameterRanges": [{"Name": "depth", "MinValue": 1, "MaxValue": 8}],
        },
        "RandomSeed": 11,
    }
    body.update(changes)
    return body


def test_trials_are_jobs_with_nested_runs_and_failed_ones_run_again(
    client: Client, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    created = client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "random-sdk",
            "HyperParameterTuningJobConfig": config(),
            "TrainingJobDefinition": trial_job(report="sdk", fail_once=str(markers)),
        },
    )
    assert created["status"] == "InProgress"
    job = ended(client, "random-sdk")
    assert job["status"] == "Completed", job
    found = trials(client, "random-sdk")
    assert [t["number"] for t in found] == [0, 1, 2, 3]
    assert all(t["status"] == "Completed" for t in found)
    # Each trial failed once (a marker per x) and its second job completed.
    assert [t["attempts"] for t in found] == [2, 2, 2, 2]
    assert [t["job"] for t in found] == [f"random-sdk-00{i}-r1" for i in range(4)]
    assert job["counts"]["completed"] == 4 and job["counts"]["retried"] == 4
    best = min(found, key=lambda t: t["objective"])
    assert job["best_trial"]["number"] == best["number"]
    x, depth = float(best["hyperparameters"]["x"]), int(best["hyperparameters"]["depth"])
    expected = (x - 0.3) ** 2 + (depth - 4) ** 2 / 100 + 1 / 5  # the last step's value
    assert best["objective"] == pytest.approx(expected)
    for trial in found:
        run = client.request("GET", f"/api/v1/runs/{trial['run_id']}")
        assert run["tags"]["mlflow.parentRunId"] == job["run_id"]
        assert float(run["params"]["x"]) == pytest.approx(float(trial["hyperparameters"]["x"]))
    types = [e["type"] for e in events(client, "random-sdk")]
    assert types[0] == "tuning.started" and types[-1] == "tuning.completed"
    assert types.count("tuning.trial.retried") == 4
    assert types.count("tuning.trial.completed") == 4


def test_early_stopping_stops_the_trial_worse_than_the_median(client: Client) -> None:
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "median",
            "HyperParameterTuningJobConfig": config(
                "Grid",
                ResourceLimits={"MaxParallelTrainingJobs": 4},
                ParameterRanges={
                    "CategoricalParameterRanges": [
                        {"Name": "kind", "Values": ["a", "b", "c", "bad"]}
                    ]
                },
                TrainingJobEarlyStoppingType="Auto",
            ),
            "TrainingJobDefinition": trial_job(hold="yes"),
        },
    )
    job = ended(client, "median")
    assert job["status"] == "Completed", job
    by_kind = {t["hyperparameters"]["kind"]: t for t in trials(client, "median")}
    assert {k: t["status"] for k, t in by_kind.items()} == {
        "a": "Completed",
        "b": "Completed",
        "c": "Completed",
        "bad": "Stopped",
    }
    bad = by_kind["bad"]
    assert bad["reason"] == "stopped early"
    stopped = client.request("GET", f"/api/v1/jobs/{bad['job']}")
    assert stopped["status"] == "Stopped"
    assert "stopped early" in [e["message"] for e in stopped["events"]]
    assert job["counts"]["stopped_early"] == 1
    assert "tuning.trial.pruned" in [e["type"] for e in events(client, "median")]


def test_a_stopped_tuning_job_stops_its_trials(client: Client, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "stopped",
            "HyperParameterTuningJobConfig": config(),
            "TrainingJobDefinition": trial_job(gate=str(gate)),
        },
    )
    until(lambda: len(list(gate.glob("started-*"))) == 2, 60, "two trials starting")
    stopping = client.request("POST", "/api/v1/tuning-jobs/stopped/stop")
    assert stopping["status"] in ("Stopping", "Stopped")
    job = ended(client, "stopped")
    assert job["status"] == "Stopped"
    found = trials(client, "stopped")
    assert len(found) == 2 and {t["status"] for t in found} == {"Stopped"}
    for trial in found:
        assert client.request("GET", f"/api/v1/jobs/{trial['job']}")["status"] == "Stopped"


def test_reaching_the_target_objective_ends_the_tuning_job(client: Client) -> None:
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "target",
            "HyperParameterTuningJobConfig": config(
                ResourceLimits={"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 1},
                TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 5.0},
            ),
            "TrainingJobDefinition": trial_job(),
        },
    )
    job = ended(client, "target")
    assert job["status"] == "Completed"
    assert "TargetObjectiveMetricValue" in job["completion_reason"]
    assert len(trials(client, "target")) == 1


def test_an_objective_not_improving_ends_the_tuning_job(client: Client) -> None:
    kinds = [f"k{i}" for i in range(20)]  # the script's loss is the same for each
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "plateau",
            "HyperParameterTuningJobConfig": config(
                "Grid",
                ResourceLimits={"MaxParallelTrainingJobs": 1},
                ParameterRanges={"CategoricalParameterRanges": [{"Name": "kind", "Values": kinds}]},
                TuningJobCompletionCriteria={
                    "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}
                },
            ),
            "TrainingJobDefinition": trial_job(),
        },
    )
    job = ended(client, "plateau")
    assert job["status"] == "Completed"
    assert job["completion_reason"] == "the best objective did not improve in 3 trials"
    assert len(trials(client, "plateau")) == 4


def test_the_runtime_limit_stops_running_trials(client: Client, tmp_path: Path) -> None:
    gate = tmp_path / "gate"  # never opened: the trials wait until they are stopped
    gate.mkdir()
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "HyperParameterTuningJobName": "runtime",
            "HyperParameterTuningJobConfig": config(
                ResourceLimits={
                    "MaxNumberOfTrainingJobs": 4,
                    "MaxParallelTrainingJobs": 2,
                    "MaxRuntimeInSeconds": 3,
                }
            ),
            "TrainingJobDefinition": trial_job(gate=str(gate)),
        },
    )
    job = ended(client, "runtime")
    assert job["status"] == "Failed"
    assert job["failure_reason"] == "MaxRuntimeInSeconds (3 s) reached; no trial completed"
    assert {t["status"] for t in trials(client, "runtime")} == {"Stopped"}


def test_warm_start_needs_parents_that_exist(client: Client) -> None:
    with pytest.raises(InvalidArgument) as missing:
        client.request(
            "POST",
            "/api/v1/tuning-jobs",
            json={
                "HyperParameterTuningJobName": "orphan",
                "HyperParameterTuningJobConfig": config(),
                "TrainingJobDefinition": trial_job(),
                "WarmStartConfig": {
                    "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nobody"}],
                    "WarmStartType": "TransferLearning",
                },
            },
        )
    assert missing.value.field == "warm_start.parents.0.name"
