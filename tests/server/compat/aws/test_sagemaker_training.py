"""ListTrainingJobs and ListTransformJobs filter and order as SageMaker does: creation and
modification times, SortBy and SortOrder, StatusEquals from SageMaker's set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._sagemaker_training import (
    create_training_job,
    list_training_jobs,
)
from dockyard.settings import Settings

#: Creation times of the jobs below, in ms: b first, then a, then c.
TIMES = {"job-b": 1_700_000_000_000, "job-a": 1_700_000_100_000, "job-c": 1_700_000_200_000}


@pytest.fixture
def jobs(services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Three queued training jobs, created at :data:`TIMES`."""
    data = settings.home / "artifacts" / "train"
    data.mkdir(parents=True)
    (data / "train.csv").write_text("1,2\n3,4\n")
    from dockyard.server.jobs import _service

    for name, created in TIMES.items():
        monkeypatch.setattr(_service, "now_ms", lambda created=created: created)
        create_training_job(services, Actor.system(), _request(name, data))
    return services


def _request(name: str, data: Path) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
            "TrainingInputMode": "File",
        },
        "HyperParameters": {"num_round": "2", "objective": "reg:squarederror"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(data)}},
            }
        ],
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def _names(services: Services, **body: Any) -> list[str]:
    found = list_training_jobs(services, Actor.system(), body)["TrainingJobSummaries"]
    return [j["TrainingJobName"] for j in found]


def test_newest_first_unless_sort_by_and_sort_order_say(jobs: Services) -> None:
    assert _names(jobs) == ["job-c", "job-a", "job-b"]
    assert _names(jobs, SortOrder="Ascending") == ["job-b", "job-a", "job-c"]
    assert _names(jobs, SortBy="Name", SortOrder="Ascending") == ["job-a", "job-b", "job-c"]
    assert _names(jobs, SortBy="Name", SortOrder="Descending") == ["job-c", "job-b", "job-a"]


def test_creation_and_modification_times_filter(jobs: Services) -> None:
    a = TIMES["job-a"] / 1000
    assert _names(jobs, CreationTimeAfter=a) == ["job-c"]
    assert _names(jobs, CreationTimeBefore=a) == ["job-b"]
    assert _names(jobs, CreationTimeAfter=a - 1, CreationTimeBefore=a + 1) == ["job-a"]
    assert _names(jobs, LastModifiedTimeAfter=TIMES["job-c"] / 1000 + 1) == []
    assert _names(jobs, LastModifiedTimeBefore=a + 1) == ["job-a", "job-b"]
    # Paging goes through the filtered list.
    first = list_training_jobs(jobs, Actor.system(), {"CreationTimeAfter": a - 1, "MaxResults": 1})
    assert [j["TrainingJobName"] for j in first["TrainingJobSummaries"]] == ["job-c"]
    assert _names(jobs, CreationTimeAfter=a - 1, NextToken=first["NextToken"]) == ["job-a"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"StatusEquals": "Running"}, "StatusEquals"),
        ({"SortBy": "Size"}, "SortBy"),
        ({"SortOrder": "Up"}, "SortOrder"),
        ({"CreationTimeAfter": "yesterday"}, "CreationTimeAfter"),
        ({"NameContains": 5}, "NameContains"),
    ],
)
def test_a_bad_filter_is_named(jobs: Services, body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        list_training_jobs(jobs, Actor.system(), body)
    assert refused.value.field == field
    assert refused.value.message.startswith(field)


def test_status_equals_reads_a_queued_job_as_in_progress(jobs: Services) -> None:
    assert _names(jobs, StatusEquals="InProgress", NameContains="JOB-A") == ["job-a"]
    assert _names(jobs, StatusEquals="Completed") == []


def test_a_manifest_channel_is_refused_not_read_as_a_prefix(
    services: Services, settings: Settings
) -> None:
    request = _request("manifest", settings.home / "artifacts" / "train")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    with pytest.raises(InvalidArgument) as refused:
        create_training_job(services, Actor.system(), request)
    assert refused.value.field == "InputDataConfig[0].DataSource.S3DataSource.S3DataType"
    assert "'ManifestFile' is not supported" in refused.value.message


def test_a_channel_whose_data_source_is_not_an_object_is_named(
    services: Services, settings: Settings
) -> None:
    request = _request("shapeless", settings.home / "artifacts" / "train")
    request["InputDataConfig"][0]["DataSource"] = "s3://bucket/train"
    with pytest.raises(InvalidArgument) as refused:
        create_training_job(services, Actor.system(), request)
    assert refused.value.field == "InputDataConfig[0].DataSource"
    assert refused.value.message == (
        "InputDataConfig[0].DataSource: give an object holding S3DataSource"
    )


def test_a_job_that_has_ended_is_not_stopped_again(jobs: Services) -> None:
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker_training import stop_training_job

    stop_training_job(jobs, Actor.system(), {"TrainingJobName": "job-a"})
    assert jobs.jobs.get(Actor.system(), "job-a").status.is_terminal  # a queued job just ends
    with pytest.raises(AwsError) as refused:
        stop_training_job(jobs, Actor.system(), {"TrainingJobName": "job-a"})
    assert refused.value.kind == "ValidationException"
    assert refused.value.message == (
        "The request was rejected because the training job is in status Stopped."
    )
