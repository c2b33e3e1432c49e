"""Training jobs: Create / Describe / List / Stop, over :mod:`dockyard.server.jobs`.

A TrainingJobName is the Dockyard job's name, so every other view of the job (the native API,
the CLI, CloudWatch Logs' ``/aws/sagemaker/TrainingJobs`` streams) finds it by that name.

What a request maps to: a ``TrainingImage`` naming a built-in algorithm (XGBoost, linear
learner; any region, account and version) runs that built-in; ``HyperParameters``,
``InputDataConfig`` (S3 channels), ``ResourceConfig.InstanceType``, ``StoppingCondition``,
``RetryStrategy``, ``CheckpointConfig``, ``Environment``, ``Tags`` and the algorithm's
``MetricDefinitions`` become the job spec's. The image, role and output path are kept as tags
of the job's run (``sagemaker:image``...) so DescribeTrainingJob answers them back. Fields with
no meaning on one machine (VPC, network isolation, debugger and profiler settings, volume size)
are accepted and ignored.

``ModelArtifacts.S3ModelArtifacts`` is the job's Dockyard model (``runs:/<run>/model``), which
CreateModel takes as its ``ModelDataUrl``.
"""

from __future__ import annotations

from typing import Any

from dockyard.api._sagemaker_sources import refuse_manifests
from dockyard.api.jobs import (
    SAGEMAKER_NAME_TAG,
    Job,
    TrainingJobSpec,
    sagemaker_name,
    transform_alias,
)
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_hyperparameters import as_sent, decoded, sent_tags
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    builtin_algorithm,
    drop_none,
    framework,
    job_status,
    listed,
    one_page,
    sagemaker_arn,
    tag_list,
)

__all__ = [
    "ACTIONS",
    "TRAINING_FIELDS",
    "channels",
    "definition_fields",
    "stop_job",
    "training_job",
    "training_spec",
    "transform_job_name",
]

#: Dockyard's names in a training job's spec, as CreateTrainingJob spells them.
TRAINING_FIELDS = {
    "name": "TrainingJobName",
    "algorithm": "AlgorithmSpecification.TrainingImage",
    "hyperparameters": "HyperParameters",
    "inputs": "InputDataConfig",
    "resources": "ResourceConfig",
    "stopping_condition": "StoppingCondition",
    "retry_strategy": "RetryStrategy",
    "environment": "Environment",
    "metric_definitions": "AlgorithmSpecification.MetricDefinitions",
    "checkpoint": "CheckpointConfig",
    "tags": "Tags",
}
#: Run tags that keep what SageMaker answers back and Dockyard has no field for.
IMAGE_TAG, ROLE_TAG, OUTPUT_TAG = "sagemaker:image", "sagemaker:role", "sagemaker:output-path"
_TAG_MAX = 256
# A spec holds 50 tags; a tuning job's trials add a few of their own.
_MAX_TAGS = 44


def _missing(name: str) -> AwsError:
    return AwsError("ValidationException", f"Requested resource not found: training job {name}")


def training_job(services: Services, actor: Actor, name: str, kind: str = "training") -> Job:
    """The job SageMaker calls ``name`` of ``kind`` (a transform job stored under its alias,
    :func:`~dockyard.api.jobs.transform_alias`, too), or AWS's error."""
    try:
        job = services.jobs.get(actor, name)
    except NotFound:
        job = None
    if kind == "transform" and (job is None or job.kind != kind):
        try:
            aliased = services.jobs.get(actor, transform_alias(name))
        except NotFound:
            aliased = None
        if aliased is not None and sagemaker_name(aliased) == name:
            job = aliased
    if job is None or job.kind != kind:
        raise (
            _missing(name)
            if kind == "training"
            else AwsError("ValidationException", f"Could not find requested job with name {name}")
        )
    return job


def transform_job_name(services: Services, actor: Actor, name: str) -> tuple[str, dict[str, str]]:
    """The name to store a transform job SageMaker calls ``name`` under, and the tags that
    keep SageMaker's name: its alias when a training job has that name (SageMaker keeps the
    two kinds apart; Step Functions' sample names both after its execution)."""
    try:
        existing = services.jobs.get(actor, name)
    except DockyardError:  # none, or one this caller may not see: submitting says which
        return name, {}
    if existing.kind == "training":
        return transform_alias(name), {SAGEMAKER_NAME_TAG: name}
    return name, {}


def training_spec(body: Body) -> TrainingJobSpec:
    """A CreateTrainingJob body as Dockyard's training job spec."""
    name = required(body, "TrainingJobName")
    algorithm = required(body, "AlgorithmSpecification", dict)
    image = algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")
    if not isinstance(image, str) or not image:
        raise InvalidArgument(
            "AlgorithmSpecification.TrainingImage must be a string (the algorithm's image)",
            field="AlgorithmSpecification.TrainingImage",
        )
    if algorithm.get("TrainingInputMode", "File") not in ("File", "FastFile"):
        raise InvalidArgument(
            "AlgorithmSpecification.TrainingInputMode: Dockyard copies channels as files "
            "(File or FastFile), Pipe is not supported",
            field="AlgorithmSpecification.TrainingInputMode",
        )
    hyperparameters = optional(body, "HyperParameters", dict, {})
    spec: Body = {"name": name, **_what_runs(image, hyperparameters)}
    spec["inputs"] = optional(body, "InputDataConfig", list, [])
    for i, channel in enumerate(spec["inputs"]):
        source = channel.get("DataSource") if isinstance(channel, dict) else None
        s3 = source.get("S3DataSource") if isinstance(source, dict) else None
        where = f"InputDataConfig[{i}].DataSource.S3DataSource"
        try:
            refuse_manifests(s3, where)
        except ValueError as exc:
            raise InvalidArgument(str(exc), field=f"{where}.S3DataType") from None
    resources = optional(body, "ResourceConfig", dict, {})
    if resources.get("InstanceCount", 1) != 1:
        raise InvalidArgument(
            "ResourceConfig.InstanceCount: a Dockyard training job runs on one host, so it "
            f"must be 1 (got {resources['InstanceCount']!r})",
            field="ResourceConfig.InstanceCount",
        )
    spec["resources"] = {
        k: v for k, v in resources.items() if k in ("InstanceType", "InstanceCount")
    }
    stopping = optional(body, "StoppingCondition", dict, {})
    spec["stopping_condition"] = {
        k: v for k, v in stopping.items() if k in ("MaxRuntimeInSeconds", "MaxWaitTimeInSeconds")
    }
    retry = optional(body, "RetryStrategy", dict)
    if retry is not None:
        spec["retry_strategy"] = {"max_attempts": retry.get("MaximumRetryAttempts", 1)}
    checkpoint = optional(body, "CheckpointConfig", dict)
    if checkpoint is not None:
        spec["checkpoint"] = {"uri": checkpoint.get("S3Uri")}
    spec["environment"] = optional(body, "Environment", dict, {})
    spec["metric_definitions"] = algorithm.get("MetricDefinitions") or []
    tags = tag_list(body.get("Tags"))
    output = optional(body, "OutputDataConfig", dict, {})
    for key, value in (
        (IMAGE_TAG, image),
        (ROLE_TAG, optional(body, "RoleArn")),
        (OUTPUT_TAG, output.get("S3OutputPath")),
    ):
        if isinstance(value, str) and value and len(value) <= _TAG_MAX:
            tags[key] = value
    if "entry_point" in spec:  # script mode: kept as sent, for DescribeTrainingJob
        tags.update(sent_tags(hyperparameters, room=_MAX_TAGS - len(tags)))
    spec["tags"] = tags
    try:
        return TrainingJobSpec.model_validate(spec)
    except ValueError as exc:
        return aws_fields(exc, TRAINING_FIELDS)


def _what_runs(image: str, hyperparameters: Body) -> Body:
    """The spec's entry point or algorithm and its hyperparameters.

    The SDK's framework estimators send script mode as hyperparameters: ``sagemaker_program``
    (the entry point) and ``sagemaker_submit_directory`` (``sourcedir.tar.gz`` on S3), every
    value JSON-encoded (``'"auto"'``); the containers decode them and keep ``sagemaker_*`` to
    themselves, and so does this. XGBoost's image is both: framework mode with a program, the
    built-in without.
    """
    if "sagemaker_program" not in hyperparameters:
        builtin = builtin_algorithm(image)
        if builtin is None:
            raise InvalidArgument(
                f"AlgorithmSpecification.TrainingImage: {image[:200]!r} is not an image "
                "Dockyard runs: it runs SageMaker's built-in XGBoost and linear-learner "
                "images, and script mode (HyperParameters.sagemaker_program) of the "
                "scikit-learn, XGBoost, PyTorch, TensorFlow and Hugging Face images",
                field="AlgorithmSpecification.TrainingImage",
            )
        return {"algorithm": builtin, "hyperparameters": hyperparameters}
    if framework(image) is None:
        raise InvalidArgument(
            f"AlgorithmSpecification.TrainingImage: {image[:200]!r} is not a framework image "
            "whose script mode Dockyard runs (scikit-learn, XGBoost, PyTorch, TensorFlow, "
            "Hugging Face)",
            field="AlgorithmSpecification.TrainingImage",
        )
    decoded_hps = {k: decoded(v) for k, v in hyperparameters.items()}
    for key in ("sagemaker_program", "sagemaker_submit_directory"):
        if not decoded_hps.get(key):
            raise InvalidArgument(
                f"HyperParameters.{key} must name the script's "
                f"{'file' if key == 'sagemaker_program' else 'sourcedir.tar.gz on S3'}",
                field=f"HyperParameters.{key}",
            )
    return {
        "entry_point": decoded_hps["sagemaker_program"],
        "source_dir": decoded_hps["sagemaker_submit_directory"],
        "hyperparameters": {k: v for k, v in decoded_hps.items() if not k.startswith("sagemaker_")},
    }


def create_training_job(services: Services, actor: Actor, body: Body) -> Body:
    spec = training_spec(body)
    try:
        job = services.jobs.submit(actor, spec)
    except DockyardError as exc:
        aws_fields(exc, TRAINING_FIELDS)
    return {"TrainingJobArn": sagemaker_arn("training-job", job.name)}


#: What SageMaker says of each secondary status, for a transition whose event says nothing
#: (the SDK's ``fit()`` prints ``<time> <Status> - <StatusMessage>`` for each).
_STATUS_MESSAGES = {
    "Pending": "Preparing the instances for training",
    "Starting": "Starting the training job",
    "Downloading": "Downloading input data",
    "Training": "Training in progress",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
}


def _transitions(job: Job) -> list[Body]:
    """SecondaryStatusTransitions: each secondary status once, from its first event to the
    next status's first event, with the event's message (SageMaker's own when it has none)."""
    steps: list[Body] = []
    for event in job.events:
        status = str(event.secondary_status)
        if steps and steps[-1]["Status"] == status:
            continue
        if steps:
            steps[-1]["EndTime"] = seconds(event.time)
        message = event.message or _STATUS_MESSAGES.get(status, status)
        steps.append({"Status": status, "StartTime": seconds(event.time), "StatusMessage": message})
    if steps and job.status.is_terminal:
        steps[-1].setdefault("EndTime", seconds(job.end_time or job.events[-1].time))
    return steps


def _metrics(services: Services, actor: Actor, job: Job) -> list[Body]:
    if not job.run_id:
        return []
    try:
        run = services.tracking.get_run(actor, job.run_id)
    except DockyardError:
        return []
    return [
        {"MetricName": key, "Value": metric.value, "Timestamp": seconds(metric.timestamp)}
        for key, metric in sorted(run.metrics.items())
    ]


def channels(spec: Body) -> list[Body]:
    return [
        drop_none(
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": channel.get("uri"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": channel.get("content_type"),
                "CompressionType": "None",
            }
        )
        for name, channel in (spec.get("inputs") or {}).items()
    ]


def definition_fields(spec: Body) -> Body:
    """A training spec back in SageMaker's shape: the fields a DescribeTrainingJob and a tuning
    job's TrainingJobDefinition share (image, role, channels, output, resources, stopping)."""
    tags = spec.get("tags") or {}
    resources = spec.get("resources") or {}
    stopping = spec.get("stopping_condition") or {}
    return {
        "AlgorithmSpecification": {
            "TrainingImage": tags.get(IMAGE_TAG, spec.get("algorithm") or ""),
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": m["name"], "Regex": m["regex"]}
                for m in spec.get("metric_definitions") or []
            ],
        },
        "RoleArn": tags.get(ROLE_TAG),
        "InputDataConfig": channels(spec),
        # KmsKeyId "" as SageMaker answers it: Estimator.attach reads the key unguarded.
        "OutputDataConfig": drop_none(
            {"S3OutputPath": tags.get(OUTPUT_TAG), "KmsKeyId": "", "CompressionType": "GZIP"}
        ),
        "ResourceConfig": drop_none(
            {
                "InstanceType": resources.get("instance_type"),
                "InstanceCount": resources.get("instance_count", 1),
                "VolumeSizeInGB": 30,
            }
        ),
        "StoppingCondition": drop_none(
            {
                "MaxRuntimeInSeconds": stopping.get("max_runtime_s"),
                "MaxWaitTimeInSeconds": stopping.get("max_wait_s"),
            }
        ),
    }


def describe_training_job(services: Services, actor: Actor, body: Body) -> Body:
    job = training_job(services, actor, required(body, "TrainingJobName"))
    spec = job.spec
    end = job.end_time if job.status.is_terminal else None
    training_s = (end - job.start_time) // 1000 if end and job.start_time else None
    answer: Body = {
        "TrainingJobName": job.name,
        "TrainingJobArn": sagemaker_arn("training-job", job.name),
        "ModelArtifacts": {"S3ModelArtifacts": job.model_uri or ""},
        "TrainingJobStatus": job_status(str(job.status)),
        "SecondaryStatus": str(job.secondary_status),
        "FailureReason": job.failure_reason,
        "HyperParameters": as_sent(spec),
        **definition_fields(spec),
        "CreationTime": seconds(job.created_time),
        "TrainingStartTime": seconds(job.start_time),
        "TrainingEndTime": seconds(end),
        "LastModifiedTime": seconds(_modified(job)),
        "SecondaryStatusTransitions": _transitions(job),
        "FinalMetricDataList": _metrics(services, actor, job) if job.status.is_terminal else [],
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": False,
        "TrainingTimeInSeconds": training_s,
        "BillableTimeInSeconds": training_s,
        "Environment": spec.get("environment") or {},
    }
    tuning = (spec.get("tags") or {}).get("dockyard.tuning.name")
    if tuning:  # a tuning job's trial
        answer["TuningJobArn"] = sagemaker_arn("hyper-parameter-tuning-job", tuning)
    return drop_none(answer)


def list_training_jobs(services: Services, actor: Actor, body: Body) -> Body:
    return list_jobs(services, actor, body, "training")


#: What StatusEquals may be in ListTrainingJobs and ListTransformJobs.
JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")


def list_jobs(services: Services, actor: Actor, body: Body, kind: str) -> Body:
    """ListTrainingJobs / ListTransformJobs: NameContains, StatusEquals, creation and
    modification times, SortBy and SortOrder (newest first by default), paging."""
    found = services.jobs.list(actor, kind=kind, limit=10_000, offset=0)
    chosen = listed(
        found,
        body,
        name=sagemaker_name,
        status=lambda j: job_status(str(j.status)),
        statuses=JOB_STATUSES,
        created=lambda j: j.created_time,
        modified=_modified,
    )
    word = "Training" if kind == "training" else "Transform"
    return one_page(
        body,
        chosen,
        f"{word}JobSummaries",
        lambda j: drop_none(
            {
                f"{word}JobName": sagemaker_name(j),
                f"{word}JobArn": sagemaker_arn(f"{kind}-job", sagemaker_name(j)),
                "CreationTime": seconds(j.created_time),
                f"{word}EndTime": seconds(j.end_time if j.status.is_terminal else None),
                "LastModifiedTime": seconds(_modified(j)),
                f"{word}JobStatus": job_status(str(j.status)),
                "FailureReason": j.failure_reason if kind == "transform" else None,
            }
        ),
    )


def _modified(job: Job) -> int:
    """When ``job`` last changed: its last event, or (a listed job carries no events) the
    latest of its creation, start and end."""
    times = [job.created_time, job.start_time or 0, job.end_time or 0]
    return max(times + ([job.events[-1].time] if job.events else []))


def stop_job(services: Services, actor: Actor, job: Job) -> None:
    """Stop ``job``; one that has ended is refused as SageMaker refuses it (a stop already
    asked for is asked again, harmlessly)."""
    if job.status.is_terminal:
        kind = "training" if job.kind == "training" else "transform"
        raise AwsError(
            "ValidationException",
            f"The request was rejected because the {kind} job is in status {job.status}.",
        )
    services.jobs.stop(actor, job.name)


def stop_training_job(services: Services, actor: Actor, body: Body) -> Body:
    stop_job(services, actor, training_job(services, actor, required(body, "TrainingJobName")))
    return {}


ACTIONS: dict[str, Any] = {
    "CreateTrainingJob": create_training_job,
    "DescribeTrainingJob": describe_training_job,
    "ListTrainingJobs": list_training_jobs,
    "StopTrainingJob": stop_training_job,
}
