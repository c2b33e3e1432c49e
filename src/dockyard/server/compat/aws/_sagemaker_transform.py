"""Transform jobs: Create / Describe / List / Stop, over Dockyard's batch transform.

A TransformJobName is the Dockyard job's name; ``ModelName`` is a SageMaker model (a registered
model, :mod:`._sagemaker_models`). The transform spec reads SageMaker's own spellings
(``TransformInput.DataSource.S3DataSource.S3Uri``, ``ContentType``, ``SplitType``,
``TransformOutput.S3OutputPath``, ``Accept``, ``AssembleWith``, ``BatchStrategy``,
``MaxPayloadInMB``, ``MaxConcurrentTransforms``, ``DataProcessing``), so they pass through;
``TransformResources``, ``Environment`` and ``ModelClientConfig`` change nothing on one machine
and are accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.batch import SAGEMAKER_NAMES, respell, respelled
from dockyard.api.jobs import sagemaker_name
from dockyard.artifacts import artifact_uri
from dockyard.errors import DockyardError
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_models import model_uri
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    job_status,
    sagemaker_arn,
    tag_list,
)
from dockyard.server.compat.aws._sagemaker_training import (
    list_jobs,
    stop_job,
    training_job,
    transform_job_name,
)

__all__ = ["ACTIONS", "transform_spec"]

_PASSED = (
    "TransformInput",
    "TransformOutput",
    "BatchStrategy",
    "MaxPayloadInMB",
    "MaxConcurrentTransforms",
    "DataProcessing",
)
_FIELDS = {
    "name": "TransformJobName",
    "model_uri": "ModelName",
    "input": "TransformInput",
    "output": "TransformOutput",
    "batch_strategy": "BatchStrategy",
    "max_payload_mb": "MaxPayloadInMB",
    "max_concurrent_transforms": "MaxConcurrentTransforms",
    "data_processing": "DataProcessing",
    "tags": "Tags",
}
MODEL_TAG = "sagemaker:model-name"
#: TransformResources as sent (one machine runs the job), for DescribeTransformJob.
INSTANCE_TYPE_TAG, INSTANCE_COUNT_TAG = "sagemaker:instance-type", "sagemaker:instance-count"


def transform_spec(services: Services, actor: Actor, body: Body) -> Body:
    """A CreateTransformJob body as Dockyard's transform job spec (the SageMaker names it
    answers back kept as tags)."""
    name = required(body, "TransformJobName")
    model = required(body, "ModelName")
    required(body, "TransformInput", dict)
    required(body, "TransformOutput", dict)
    spec: Body = {k: body[k] for k in _PASSED if k in body}
    spec["name"], kept = transform_job_name(services, actor, name)
    spec["model_uri"] = model_uri(services, actor, model)
    spec["tags"] = {**tag_list(body.get("Tags")), MODEL_TAG: model, **kept}
    resources = optional(body, "TransformResources", dict, {})
    instance_type = resources.get("InstanceType")
    if isinstance(instance_type, str) and instance_type:
        spec["tags"][INSTANCE_TYPE_TAG] = instance_type[:256]
    count = resources.get("InstanceCount")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 1:
        spec["tags"][INSTANCE_COUNT_TAG] = str(count)
    return spec


def create_transform_job(services: Services, actor: Actor, body: Body) -> Body:
    spec = transform_spec(services, actor, body)
    name = body["TransformJobName"]
    try:
        services.jobs.submit_transform(actor, spec, artifact_uri(services.artifacts, "transform"))
    except DockyardError as exc:
        # Every field by the request's own path (TransformOutput.S3OutputPath, not output.uri).
        return aws_fields(respelled(exc, SAGEMAKER_NAMES), {})
    except ValueError as exc:
        return aws_fields(exc, _FIELDS)
    return {"TransformJobArn": sagemaker_arn("transform-job", name)}


def describe_transform_job(services: Services, actor: Actor, body: Body) -> Body:
    job = training_job(services, actor, required(body, "TransformJobName"), kind="transform")
    spec = job.spec
    tags = spec.get("tags") or {}
    source, output = spec.get("input") or {}, spec.get("output") or {}
    processing = spec.get("data_processing") or {}
    return drop_none(
        {
            "TransformJobName": sagemaker_name(job),
            "TransformJobArn": sagemaker_arn("transform-job", sagemaker_name(job)),
            "TransformJobStatus": job_status(str(job.status)),
            "FailureReason": (
                respell(job.failure_reason, SAGEMAKER_NAMES) if job.failure_reason else None
            ),
            "ModelName": tags.get(MODEL_TAG, spec.get("model_uri")),
            "MaxConcurrentTransforms": spec.get("max_concurrent_transforms"),
            "MaxPayloadInMB": spec.get("max_payload_mb"),
            "BatchStrategy": spec.get("batch_strategy"),
            "TransformInput": drop_none(
                {
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source.get("uri")}
                    },
                    "ContentType": source.get("content_type"),
                    "CompressionType": source.get("compression"),
                    "SplitType": source.get("split_type"),
                }
            ),
            "TransformOutput": drop_none(
                {
                    "S3OutputPath": output.get("uri"),
                    "Accept": output.get("accept"),
                    "AssembleWith": output.get("assemble_with"),
                }
            ),
            "TransformResources": {
                "InstanceType": tags.get(INSTANCE_TYPE_TAG, "ml.m5.large"),
                "InstanceCount": int(count)
                if (count := tags.get(INSTANCE_COUNT_TAG, "")).isascii() and count.isdigit()
                else 1,
            },
            "DataProcessing": drop_none(
                {
                    "InputFilter": processing.get("input_filter"),
                    "OutputFilter": processing.get("output_filter"),
                    "JoinSource": processing.get("join_source"),
                }
            ),
            "CreationTime": seconds(job.created_time),
            "TransformStartTime": seconds(job.start_time),
            "TransformEndTime": seconds(job.end_time if job.status.is_terminal else None),
        }
    )


def list_transform_jobs(services: Services, actor: Actor, body: Body) -> Body:
    return list_jobs(services, actor, body, "transform")


def stop_transform_job(services: Services, actor: Actor, body: Body) -> Body:
    job = training_job(services, actor, required(body, "TransformJobName"), kind="transform")
    stop_job(services, actor, job)
    return {}


ACTIONS: dict[str, Any] = {
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": describe_transform_job,
    "ListTransformJobs": list_transform_jobs,
    "StopTransformJob": stop_transform_job,
}
