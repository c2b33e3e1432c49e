"""The resource table and the integrations' own rules: resource patterns, SageMaker's
CreateTrainingJob mapped to a job spec, resources checked in branches and Maps, and when a
deploy task ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines._task_endpoints import EndpointTask
from dockyard.server.pipelines._task_jobs import JobTask
from dockyard.server.pipelines._tasks import Failed, Succeeded, TaskCall, split_resource
from dockyard.settings import Settings

TRAIN = "arn:aws:states:::sagemaker:createTrainingJob"


def test_resource_patterns() -> None:
    assert split_resource("dockyard:train.sync") == ("dockyard:train", "sync")
    assert split_resource("arn:aws:states:::glue:startJobRun.sync:2")[1] == "sync"
    assert split_resource("arn:aws:states:::sns:publish.waitForTaskToken") == (
        "arn:aws:states:::sns:publish",
        "token",
    )
    assert split_resource("arn:aws:lambda:us-east-1:1:function:f")[1] == "request"


def test_create_training_job_maps_to_a_spec(services: Services) -> None:
    """SageMaker's CreateTrainingJob request is read as the server's SageMaker API reads it,
    and a request it cannot run is refused when the state machine is created."""
    resolved = services.pipelines.integrations.resolve(
        "arn:aws:states:::sagemaker:createTrainingJob.sync"
    )
    assert resolved is not None
    task = resolved[0]
    assert isinstance(task, JobTask)
    spec = task._training_spec(
        {
            "TrainingJobName": "nightly-1",
            "AlgorithmSpecification": {"TrainingImage": "1.dkr.ecr/sagemaker-xgboost:1.7-1"},
            "HyperParameters": {"num_round": "5"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3Uri": "s3://b/train/"}},
                }
            ],
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "Tags": [{"Key": "team", "Value": "ml"}],
            "RoleArn": "arn:aws:iam::1:role/x",
        },
        "unused",
    )
    assert (spec.name, spec.algorithm) == ("nightly-1", "xgboost")
    assert spec.inputs["train"].uri == "s3://b/train/"
    assert spec.stopping_condition.max_runtime_s == 600 and spec.tags["team"] == "ml"
    with pytest.raises(InvalidArgument) as own_image:
        task.check(TRAIN, {"AlgorithmSpecification": {"TrainingImage": "my/own-image"}})
    assert own_image.value.field == "AlgorithmSpecification.TrainingImage"
    script_mode = {
        "AlgorithmSpecification": {"TrainingImage": "1.dkr.ecr/sagemaker-scikit-learn:1.2-1"},
        "HyperParameters": {"sagemaker_program": '"train.py"'},
    }
    with pytest.raises(InvalidArgument) as no_source:
        task.check(TRAIN, script_mode)
    assert no_source.value.field == "HyperParameters.sagemaker_submit_directory"


def test_resources_are_checked_in_branches_and_maps(services: Services) -> None:
    table = services.pipelines.integrations
    inner = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "nope", "End": True}}}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [inner], "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": inner, "End": True},
        },
    }
    assert [(where, code) for where, _, code in table.problems(definition)] == [
        ("/States/P/Branches/0/States/T/Resource", "INVALID_RESOURCE"),
        ("/States/M/ItemProcessor/States/T/Resource", "INVALID_RESOURCE"),
    ]
    dynamic = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource.$": "$.r"}}}
    assert list(table.problems(dynamic)) == []
    # whatever else is wrong with the definition (its problems are the core's), it is walked
    odd = {"States": {"P": {"Type": "Parallel", "Branches": 5}, "Q": 1, "M": {"Type": "Map"}}}
    assert list(table.problems(odd)) == []


def test_a_known_resource_written_with_a_pattern_it_lacks_says_which_it_has(
    services: Services,
) -> None:
    """lambda:invoke.sync is not refused as an unknown resource (with a list claiming .sync
    runs): the message says the resource runs, and how."""
    table = services.pipelines.integrations

    def problems(resource: str) -> list[tuple[str, str, str]]:
        state = {"Type": "Task", "Resource": resource, "Parameters": {"FunctionName": "f"}}
        return list(table.problems({"StartAt": "T", "States": {"T": {**state, "End": True}}}))

    assert problems("arn:aws:states:::lambda:invoke.sync") == [
        (
            "/States/T/Resource",
            "state 'T': 'arn:aws:states:::lambda:invoke' does not run as .sync "
            "(it runs as a request, .waitForTaskToken)",
            "INVALID_RESOURCE",
        )
    ]
    (unknown,) = problems("arn:aws:states:::glue:startJobRun.sync")
    assert "unknown resource" in unknown[1]


class Endpoints:
    """An endpoints service that answers with the endpoint a test sets (None: there is none)
    and keeps the configs it was given."""

    def __init__(self) -> None:
        self.now: Any = None
        self.given: list[Any] = []

    def get(self, actor: Actor, name: str) -> Any:
        if self.now is None:
            raise NotFound(f"no endpoint {name}")
        return self.now

    def create(self, actor: Actor, config: Any) -> Any:
        self.given.append(config)
        return endpoint("Creating")

    def update(self, actor: Actor, name: str, config: Any) -> Any:
        self.given.append(config)
        return endpoint("Updating")


def endpoint(status: str, pending: Any = None, failure: str | None = None) -> Any:
    return SimpleNamespace(
        name="ep", status=status, url="u", pending_config=pending, failure_reason=failure
    )


def deploy_call(payload: dict[str, Any], mode: str = "request") -> TaskCall:
    return TaskCall(
        key="k",
        execution_arn="a",
        state_name="Deploy",
        resource="dockyard:endpoint:deploy" + (".sync" if mode == "sync" else ""),
        base="dockyard:endpoint:deploy",
        mode=mode,
        payload=payload,
        actor=Actor.local("root"),
    )


def test_a_deploy_ends_in_service_and_fails_on_rollback() -> None:
    endpoints = Endpoints()
    task = EndpointTask(endpoints)
    call = deploy_call({}, "sync")
    endpoints.now = endpoint("Updating", pending={"name": "ep"})
    assert task.poll(call, "ep") is None
    endpoints.now = endpoint("InService")
    assert isinstance(task.poll(call, "ep"), Succeeded)
    endpoints.now = endpoint("InService", failure="update rolled back: errors")
    assert task.poll(call, "ep") == Failed("Endpoint.RolledBack", "update rolled back: errors")
    endpoints.now = endpoint("Failed", failure="no model")
    assert task.poll(call, "ep") == Failed("Endpoint.Failed", "no model")


def test_a_deploy_of_an_existing_endpoint_may_name_only_what_changes() -> None:
    endpoints = Endpoints()
    task = EndpointTask(endpoints)

    def deploy(payload: dict[str, Any]) -> Any:
        return task.start(deploy_call(payload))

    scaled = {"name": "ep", "scaling": {"min_workers": 2, "max_workers": 2}}
    refused = deploy(scaled)  # no such endpoint yet: a new one needs its variants
    assert isinstance(refused, Failed) and "variants" in str(refused.cause)
    endpoints.now = endpoint("InService")
    assert isinstance(deploy(scaled), Succeeded)
    assert endpoints.given[-1].model_fields_set == {"name", "scaling"}
    assert isinstance(deploy({"scaling": {}}), Failed)  # which endpoint, then?


@pytest.fixture
def with_data(tmp_path: Path) -> Iterator[Services]:
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(tmp_path)]))
    yield made
    made.close()


def test_a_job_task_started_again_waits_on_the_same_job(
    with_data: Services, tmp_path: Path
) -> None:
    from dockyard.server.pipelines._tasks import Waiting

    services = with_data
    (tmp_path / "train.csv").write_text("1,2\n3,4\n")
    spec = {
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": str(tmp_path / "train.csv"), "content_type": "text/csv"}},
    }
    call = TaskCall(
        key="arn:aws:states:us-east-1:000000000000:execution:m:e:Train#1",
        execution_arn="arn:aws:states:us-east-1:000000000000:execution:m:e",
        state_name="Train",
        resource="dockyard:train.sync",
        base="dockyard:train",
        mode="sync",
        payload=spec,
        actor=Actor.local("root"),
    )
    task = JobTask(services.jobs, str(tmp_path / "transform"))  # Dockyard's spec alone
    first, again = task.start(call), task.start(call)  # a crash between start and its record
    assert isinstance(first, Waiting) and first == again
    assert [j.name for j in services.jobs.list(Actor.local("root"))] == [first.handle]
    other = TaskCall(**{**call.__dict__, "key": call.key.replace("#1", "#2")})
    assert task.start(other) != first  # another attempt is another job
