"""A pipeline's tuning task on a real server: ``dockyard:tune.sync`` runs a tuning job to its end
and answers with the best trial; the SageMaker ARN answers as DescribeHyperParameterTuningJob;
a bad spec fails the task naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.server.tuning.conftest import SCRIPTS

from dockyard.client import sdk
from dockyard.client.http import Client
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.slow


def _tuning(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "config": {
            "strategy": "Random",
            "random_seed": 3,
            "objective": {"type": "Minimize", "metric_name": "loss"},
            "resource_limits": {"max_jobs": 2, "max_parallel_jobs": 2},
            "parameter_ranges": {"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
        },
        "training_job": {
            "entry_point": "trial.py",
            "source_dir": str(SCRIPTS),
            "resources": {"cpus": 0.5},
            "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
        },
    }


def _run(client: Client, name: str, resource: str, parameters: Any) -> Any:
    definition = {
        "StartAt": "Tune",
        "States": {
            "Tune": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
        },
    }
    sdk.create_pipeline(name, definition, client=client)
    started = sdk.start_execution(name, {}, client=client)
    found = sdk.describe_execution(name, started.execution_arn, client=client)
    for _ in range(10):
        if found.status.value != "RUNNING":
            break
        found = sdk.describe_execution(name, started.execution_arn, wait=30, client=client)
    return found


def test_tune_sync_waits_for_the_best_trial(client: Client) -> None:
    ended = _run(client, "tune-plain", "dockyard:tune.sync", _tuning("piped"))
    assert ended.status.value == "SUCCEEDED", (ended.error, ended.cause)
    output = json.loads(ended.output)
    assert (output["name"], output["status"]) == ("piped", "Completed")
    assert output["counts"]["completed"] == 2
    best = output["best_trial"]
    trials = client.request("GET", "/api/v1/tuning-jobs/piped/trials")["trials"]
    assert best["objective"] == min(t["objective"] for t in trials)


def test_the_sagemaker_arn_answers_as_sagemaker_does(client: Client) -> None:
    ended = _run(
        client,
        "tune-arn",
        "arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync",
        _tuning("piped-arn"),
    )
    assert ended.status.value == "SUCCEEDED", (ended.error, ended.cause)
    output = json.loads(ended.output)
    assert output["HyperParameterTuningJobStatus"] == "Completed"
    assert output["TrainingJobStatusCounters"]["Completed"] == 2
    best = output["BestTrainingJob"]
    assert best["TrainingJobName"].startswith("piped-arn-")
    assert set(best["TunedHyperParameters"]) == {"x"}


def test_a_bad_tuning_spec_is_refused_naming_the_field(client: Client) -> None:
    bad = _tuning("piped-bad")
    bad["config"]["resource_limits"]["max_jobs"] = 0
    with pytest.raises(InvalidArgument, match="max_jobs"):
        _run(client, "tune-bad", "dockyard:tune.sync", bad)
    # Computed at run time, the same spec fails the task instead, naming the field.
    dynamic = {**bad, "name.$": "$.name"}
    del dynamic["name"]
    definition = {
        "StartAt": "Tune",
        "States": {
            "Tune": {
                "Type": "Task",
                "Resource": "dockyard:tune.sync",
                "Parameters": dynamic,
                "End": True,
            }
        },
    }
    sdk.create_pipeline("tune-late", definition, client=client)
    started = sdk.start_execution("tune-late", {"name": "late"}, client=client)
    ended = sdk.describe_execution("tune-late", started.execution_arn, wait=30, client=client)
    assert (ended.status.value, ended.error) == ("FAILED", "Tuning.ValidationException")
    assert "max_jobs" in (ended.cause or "")
