"""Processing jobs: Create / Describe / Stop, for the model monitor's analyzer, over Dockyard's
``monitoring`` jobs.

The SageMaker SDK's ``DefaultModelMonitor.suggest_baseline()`` starts a processing job with the
model monitor's analyzer image (``.../sagemaker-model-monitor-analyzer``), the dataset as its
``baseline_dataset_input`` and the ``dataset_format`` / ``output_path`` variables in its
Environment. That is Dockyard's baseline suggestion: the request becomes a ``monitoring`` job in
``baseline`` mode reading the dataset's URI, writing ``statistics.json`` and
``constraints.json`` (SageMaker's formats) to the output's ``S3Uri``, where the SDK's
``baseline_statistics()`` and ``suggested_constraints()`` read them. A ProcessingJobName is the
job's name; a schedule's executions are ``monitoring`` jobs too, so DescribeProcessingJob
answers for them (the SDK's ``list_executions()`` describes each).

Not supported yet (refused naming the field): other images (script processors), the
analyzer's record pre-processor and post-analytics scripts. Resources, role, network and
stopping condition change nothing on one machine and are accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from dockyard.api.jobs import Job
from dockyard.api.monitoring import MonitoringJobData, MonitoringJobOutput, MonitoringJobSpec
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_job_definitions import missing
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    job_status,
    sagemaker_arn,
    tag_list,
)

__all__ = ["ACTIONS", "ANALYZER", "processing_job_arn"]

#: The repository of the model monitor's analyzer image, in every region.
ANALYZER = "sagemaker-model-monitor-analyzer"
_DATASET_INPUT = "baseline_dataset_input"
_INPUT_PATH = "/opt/ml/processing/input/"
_OUTPUT_PATH = "/opt/ml/processing/output"
_SCRIPTS = ("record_preprocessor_script", "post_analytics_processor_script")
_KIND = "monitoring"
_FIELDS = {
    "name": "ProcessingJobName",
    "data": "ProcessingInputs",
    "output": "ProcessingOutputConfig",
}


def processing_job_arn(name: str) -> str:
    return sagemaker_arn("processing-job", name)


def _dataset_format(env: Body) -> tuple[Literal["csv", "jsonl", "parquet"], bool | None]:
    """The analyzer's ``dataset_format`` variable (``{"csv": {"header": true}}``,
    ``{"json": {"lines": true}}``, ``{"parquet": {}}``) as Dockyard's format and header."""
    field = "Environment.dataset_format"
    text = env.get("dataset_format")
    if text is None:
        return "csv", None
    try:
        given = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        raise InvalidArgument(f"{field} must be JSON", field=field) from None
    if not isinstance(given, dict) or len(given) != 1:
        raise InvalidArgument(f"{field} names one format: csv, json or parquet", field=field)
    kind, options = next(iter(given.items()))
    options = options if isinstance(options, dict) else {}
    if kind == "csv":
        return "csv", bool(options.get("header", False))
    if kind == "json":
        if options.get("lines") is False:
            raise InvalidArgument(
                f'{field}: Dockyard reads JSON Lines ({{"json": {{"lines": true}}}})',
                field=field,
            )
        return "jsonl", None
    if kind == "parquet":
        return "parquet", None
    raise InvalidArgument(f"{field}: {kind!r} is not csv, json or parquet", field=field)


def _dataset_uri(body: Body) -> str:
    inputs = required(body, "ProcessingInputs", list)
    for i, item in enumerate(inputs):
        where = f"ProcessingInputs[{i}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"{where} must be an object", field=where)
        name = item.get("InputName")
        if name in _SCRIPTS:
            raise InvalidArgument(
                f"{where}: the analyzer's {name} is not supported by Dockyard yet",
                field=f"{where}.InputName",
            )
    chosen = [i for i in inputs if i.get("InputName") == _DATASET_INPUT] or inputs[:1]
    if not chosen:
        raise InvalidArgument(
            f"ProcessingInputs needs the dataset as {_DATASET_INPUT!r}", field="ProcessingInputs"
        )
    source = chosen[0].get("S3Input")
    if not isinstance(source, dict):
        raise InvalidArgument(
            f"ProcessingInputs: {_DATASET_INPUT} needs an S3Input", field="ProcessingInputs"
        )
    uri: str = required(source, "S3Uri")
    return uri


def _output_uri(body: Body) -> str:
    field = "ProcessingOutputConfig.Outputs"
    config = required(body, "ProcessingOutputConfig", dict)
    outputs = config.get("Outputs")
    if not isinstance(outputs, list) or len(outputs) != 1 or not isinstance(outputs[0], dict):
        raise InvalidArgument(f"{field} must hold one output", field=field)
    target = outputs[0].get("S3Output")
    if not isinstance(target, dict) or not isinstance(target.get("S3Uri"), str):
        raise InvalidArgument(f"{field}[0].S3Output.S3Uri must be given", field=f"{field}[0]")
    uri: str = target["S3Uri"]
    return uri


def create_processing_job(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ProcessingJobName")
    app = required(body, "AppSpecification", dict)
    image = app.get("ImageUri")
    if not isinstance(image, str) or ANALYZER not in image:
        raise InvalidArgument(
            "AppSpecification.ImageUri: Dockyard runs the model monitor's analyzer image "
            f"({ANALYZER}) only; other processing images are not supported yet",
            field="AppSpecification.ImageUri",
        )
    env = optional(body, "Environment", dict, {})
    for script in _SCRIPTS:
        if env.get(script):
            raise InvalidArgument(
                f"Environment.{script} is not supported by Dockyard yet",
                field=f"Environment.{script}",
            )
    data_format, header = _dataset_format(env)
    dataset, output = _dataset_uri(body), _output_uri(body)
    # As a job's channel and output: what the caller may read, and write only where specs may.
    services.jobs.checks.check_location(actor, dataset, "ProcessingInputs")
    services.jobs.checks.check_location(actor, output, "ProcessingOutputConfig", write=True)
    try:
        spec = MonitoringJobSpec(
            name=name,
            mode="baseline",
            schedule="",
            execution_id=name,
            tags=tag_list(body.get("Tags")),
            data=MonitoringJobData(uris=(dataset,), format=data_format, header=header),
            output=MonitoringJobOutput(uri=output),
        )
        services.jobs.submit_monitoring(actor, spec)
    except (DockyardError, ValueError) as exc:
        aws_fields(exc, _FIELDS)
    return {"ProcessingJobArn": processing_job_arn(name)}


def _job(services: Services, actor: Actor, name: str) -> tuple[Job, MonitoringJobSpec]:
    try:
        job = services.jobs.get(actor, name)
    except (NotFound, InvalidArgument):
        raise missing("processing job", "processing-job", name) from None
    if job.kind != _KIND:
        raise missing("processing job", "processing-job", name)
    return job, MonitoringJobSpec.model_validate(job.spec)


def describe_processing_job(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ProcessingJobName")
    job, spec = _job(services, actor, name)
    baseline = spec.mode == "baseline"
    input_name = _DATASET_INPUT if baseline else "endpoint_input"
    status = job_status(job.status.value)
    return drop_none(
        {
            "ProcessingJobName": job.name,
            "ProcessingJobArn": processing_job_arn(job.name),
            "ProcessingJobStatus": status,
            "ProcessingInputs": [
                {
                    "InputName": input_name if len(spec.data.uris) == 1 else f"{input_name}{i}",
                    "AppManaged": False,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": _INPUT_PATH + input_name,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                }
                for i, uri in enumerate(spec.data.uris)
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": spec.output.uri,
                            "LocalPath": _OUTPUT_PATH,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "AppSpecification": {"ImageUri": ANALYZER},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "local", "VolumeSizeInGB": 1}
            },
            "MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", spec.schedule)
            if spec.schedule
            else None,
            "ExitMessage": (job.progress or {}).get("message") if status == "Completed" else None,
            "FailureReason": job.failure_reason,
            "CreationTime": seconds(job.created_time),
            "ProcessingStartTime": seconds(job.start_time),
            "ProcessingEndTime": seconds(job.end_time),
            "LastModifiedTime": seconds(job.end_time or job.start_time or job.created_time),
        }
    )


def stop_processing_job(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ProcessingJobName")
    _job(services, actor, name)
    services.jobs.stop(actor, name)
    return {}


ACTIONS: dict[str, Any] = {
    "CreateProcessingJob": create_processing_job,
    "DescribeProcessingJob": describe_processing_job,
    "StopProcessingJob": stop_processing_job,
}
