"""CreateTransformJob's errors name the request's own fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.errors import DockyardError
from dockyard.models import save_model
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._sagemaker_transform import create_transform_job
from dockyard.settings import Settings


@pytest.fixture
def store(services: Services, settings: Settings) -> Path:
    """The artifact store's folder, holding a registered model ``trialclf`` and ``in.csv``."""
    root = settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "model", input_example=frame)
    actor = Actor.system()
    services.registry.create_registered_model(actor, CreateRegisteredModel(name="trialclf"))
    services.registry.create_model_version(
        actor, "trialclf", CreateModelVersion(source=str(root / "model"))
    )
    (root / "in.csv").write_text("1.0,2.0\n")
    return root


def _request(source: str, output: str) -> dict[str, Any]:
    return {
        "TransformJobName": "sm1",
        "ModelName": "trialclf",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": output},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("output", "TransformOutput.S3OutputPath"),
        ("input", "TransformInput.DataSource.S3DataSource.S3Uri"),
    ],
)
def test_a_refused_location_is_named_by_the_request_field(
    services: Services, store: Path, tmp_path: Path, where: str, field: str
) -> None:
    outside = str(tmp_path / "elsewhere")
    source, output = (str(store / "in.csv"), outside)
    if where == "input":
        source, output = outside, str(store / "out")
    with pytest.raises(DockyardError) as refused:
        create_transform_job(services, Actor.system(), _request(source, output))
    assert refused.value.field == field
    assert "output.uri" not in refused.value.message
    assert "input.uri" not in refused.value.message


def test_a_failure_reason_names_the_request_fields(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from dockyard.api.jobs import JobStatus
    from dockyard.server.compat.aws import _sagemaker_transform

    failed = SimpleNamespace(
        name="sm1",
        status=JobStatus.FAILED,
        failure_reason="input file s3://b/in.csv is gzip-compressed: set input.compression: Gzip",
        spec={"model_uri": "models:/m/1", "input": {"uri": "s3://b/in.csv"}},
        created_time=None,
        start_time=None,
        end_time=None,
    )
    monkeypatch.setattr(_sagemaker_transform, "training_job", lambda *_, **__: failed)
    described = _sagemaker_transform.describe_transform_job(
        services, Actor.system(), {"TransformJobName": "sm1"}
    )
    assert described["FailureReason"] == (
        "input file s3://b/in.csv is gzip-compressed: set TransformInput.CompressionType: Gzip"
    )


@pytest.mark.parametrize("kind", ["ManifestFile", "AugmentedManifestFile"])
def test_a_manifest_source_is_refused_not_read_as_a_prefix(
    services: Services, store: Path, kind: str
) -> None:
    request = _request(str(store / "in.csv"), str(store / "out"))
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = kind
    with pytest.raises(DockyardError) as refused:
        create_transform_job(services, Actor.system(), request)
    assert refused.value.field == "TransformInput.DataSource.S3DataSource.S3DataType"
    assert kind in refused.value.message
    assert services.jobs.list(Actor.system(), kind="transform") == []


def test_a_nested_field_of_the_wrong_type_is_named_by_its_request_path(
    services: Services, store: Path
) -> None:
    request = _request(str(store / "in.csv"), str(store / "out"))
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = 5
    with pytest.raises(DockyardError) as refused:
        create_transform_job(services, Actor.system(), request)
    assert refused.value.field == "TransformInput.DataSource.S3DataSource.S3Uri"
    assert refused.value.message.startswith("TransformInput.DataSource.S3DataSource.S3Uri: ")


def test_describe_answers_the_transform_resources_sent(services: Services, store: Path) -> None:
    from dockyard.server.compat.aws._sagemaker_transform import describe_transform_job

    request = _request(str(store / "in.csv"), str(store / "transform" / "sm1"))
    request["TransformResources"] = {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 2}
    create_transform_job(services, Actor.system(), request)
    described = describe_transform_job(services, Actor.system(), {"TransformJobName": "sm1"})
    assert described["TransformResources"] == {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 2}


def test_a_bad_job_name_is_named_once(services: Services, store: Path) -> None:
    request = _request(str(store / "in.csv"), str(store / "transform" / "bad_name"))
    request["TransformJobName"] = "bad_name"
    with pytest.raises(DockyardError) as refused:
        create_transform_job(services, Actor.system(), request)
    assert refused.value.field == "TransformJobName"
    assert refused.value.message.startswith("TransformJobName: String should match pattern")


def test_a_transform_job_that_has_ended_is_not_stopped_again(
    services: Services, store: Path
) -> None:
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker_transform import stop_transform_job

    create_transform_job(
        services, Actor.system(), _request(str(store / "in.csv"), str(store / "transform" / "sm1"))
    )
    stop_transform_job(services, Actor.system(), {"TransformJobName": "sm1"})
    with pytest.raises(AwsError) as refused:
        stop_transform_job(services, Actor.system(), {"TransformJobName": "sm1"})
    assert refused.value.message == (
        "The request was rejected because the transform job is in status Stopped."
    )


def test_a_transform_job_named_as_a_training_job_is_kept_apart(
    services: Services, store: Path
) -> None:
    # SageMaker keeps the two kinds apart; Step Functions' sample names both after its
    # execution. Dockyard's jobs share one set of names: the transform is stored under an
    # alias, and SageMaker's API knows it by the name it was given.
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.server.compat.aws._sagemaker_training import list_jobs
    from dockyard.server.compat.aws._sagemaker_transform import (
        describe_transform_job,
        stop_transform_job,
    )

    actor = Actor.system()
    (store / "train.py").write_text("print('hi')\n")
    spec = TrainingJobSpec(entry_point="train.py", source_dir=str(store), name="sm1")
    services.jobs.submit(actor, spec)
    # (an output in the artifact store goes in the stored job's own area)
    output = str(store / "transform" / "sm1-transform")
    created = create_transform_job(services, actor, _request(str(store / "in.csv"), output))
    assert created["TransformJobArn"].endswith(":transform-job/sm1")
    described = describe_transform_job(services, actor, {"TransformJobName": "sm1"})
    assert described["TransformJobName"] == "sm1" and described["ModelName"] == "trialclf"
    assert services.jobs.get(actor, "sm1").kind == "training"
    assert services.jobs.get(actor, "sm1-transform").kind == "transform"
    listed = list_jobs(services, actor, {"NameContains": "sm1"}, "transform")
    assert [j["TransformJobName"] for j in listed["TransformJobSummaries"]] == ["sm1"]
    stop_transform_job(services, actor, {"TransformJobName": "sm1"})
    assert services.jobs.get(actor, "sm1-transform").status.is_terminal
    assert not services.jobs.get(actor, "sm1").status.is_terminal  # the training job runs on


def test_a_native_jobs_instance_count_tag_that_is_no_number_is_not_read(
    services: Services, store: Path
) -> None:
    from dockyard.server.compat.aws._sagemaker_transform import describe_transform_job

    # A job submitted through the native API may carry any tag; "²" passes str.isdigit() and
    # failed int(): DescribeTransformJob answered a 500.
    body = {
        "name": "native",
        "model_uri": "models:/trialclf/1",
        "input": {"uri": str(store / "in.csv"), "content_type": "text/csv"},
        "tags": {"sagemaker:instance-count": "²"},
    }
    services.jobs.submit_transform(Actor.system(), body, str(store / "transform"))
    described = describe_transform_job(services, Actor.system(), {"TransformJobName": "native"})
    assert described["TransformResources"]["InstanceCount"] == 1
