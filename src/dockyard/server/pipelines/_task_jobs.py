"""Training and transform jobs as tasks.

Resources: ``dockyard:train`` / ``arn:aws:states:::sagemaker:createTrainingJob`` and
``dockyard:transform`` / ``arn:aws:states:::sagemaker:createTransformJob``, each as a plain
request (answers once the job is queued) or ``.sync`` (answers when the job ends: Completed
succeeds, Failed or Stopped fails with ``States.TaskFailed`` and the job's reason). A SageMaker
request refused before any job starts (a name taken, a field Dockyard cannot run) fails with
Step Functions' ``SageMaker.AmazonSageMakerException`` (:func:`._task_sagemaker.refused`).

Parameters: Dockyard's own spec (``algorithm``, ``hyperparameters``, ``inputs``... see
:mod:`dockyard.api.jobs`), or SageMaker's CreateTrainingJob / CreateTransformJob request,
read as the server's SageMaker API reads it (the server hands that reading in as
:data:`._task_sagemaker.SageMakerTraining`): a built-in algorithm's image, or a framework
image's script mode (``sagemaker_program`` and ``sagemaker_submit_directory`` among the
``HyperParameters``, as the SageMaker SDK and AWS's samples write them), ``InputDataConfig``,
``ResourceConfig``, ``StoppingCondition``, ``Environment``, ``Tags``... Fields with no Dockyard
meaning (``RoleArn``, ``OutputDataConfig``, VPC settings) are accepted and ignored.

A task's job is named from its key unless the parameters name it (``TrainingJobName``), and
tagged ``dockyard.pipeline.task``: starting a task again (after a crash) finds the job by name
and waits on it instead of submitting another.
"""

from __future__ import annotations

from typing import Any

from dockyard.api.jobs import SAGEMAKER_NAME_TAG, TrainingJobSpec, sagemaker_name, transform_alias
from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument, NotFound
from dockyard.server.pipelines._task_sagemaker import (
    SageMakerTraining,
    SageMakerTransform,
    refused,
)
from dockyard.server.pipelines._tasks import (
    REQUEST,
    SYNC,
    BaseIntegration,
    Failed,
    Outcome,
    Succeeded,
    TaskCall,
    Waiting,
    work_name,
)

__all__ = ["JobTask", "transform_body"]

TRAIN = ("dockyard:train", "arn:aws:states:::sagemaker:createTrainingJob")
TRANSFORM = ("dockyard:transform", "arn:aws:states:::sagemaker:createTransformJob")
TASK_TAG = "dockyard.pipeline.task"


def _sagemaker_shaped(payload: dict[str, Any]) -> bool:
    """SageMaker's CreateTrainingJob request (``AlgorithmSpecification``...), not Dockyard's
    snake_case spec."""
    return any(str(key)[:1].isupper() for key in payload)


def transform_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A transform job body: Dockyard's spec, or SageMaker's request (the spec reads its
    spellings) without the fields Dockyard has no use for."""
    body = {
        k: v
        for k, v in payload.items()
        if k not in ("TransformResources", "DataCaptureConfig", "Environment", "Tags")
    }
    if "TransformJobName" in body:
        body["name"] = body.pop("TransformJobName")
    return body


def _sagemaker(job: Any, training: bool) -> dict[str, Any]:
    """The job as DescribeTrainingJob / DescribeTransformJob answers (the fields pipelines use)."""
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:{'training' if training else 'transform'}-job/"
    if training:
        return {
            "TrainingJobName": job.name,
            "TrainingJobArn": arn + job.name,
            "TrainingJobStatus": str(job.status),
            "SecondaryStatus": str(job.secondary_status),
            "ModelArtifacts": {"S3ModelArtifacts": job.model_uri},
            "FailureReason": job.failure_reason,
            "CreationTime": job.created_time,
            "TrainingStartTime": job.start_time,
            "TrainingEndTime": job.end_time,
            "RunId": job.run_id,
        }
    return {
        "TransformJobName": sagemaker_name(job),
        "TransformJobArn": arn + sagemaker_name(job),
        "TransformJobStatus": str(job.status),
        "FailureReason": job.failure_reason,
        "TransformOutput": {"S3OutputPath": (job.spec.get("output") or {}).get("uri")},
        "CreationTime": job.created_time,
        "TransformEndTime": job.end_time,
    }


class JobTask(BaseIntegration):
    """Submits a training or transform job and, for ``.sync``, waits for it to end."""

    modes = frozenset({REQUEST, SYNC})

    def __init__(
        self,
        jobs: Any,
        transform_root: str,
        tracking: Any = None,
        sagemaker_training: SageMakerTraining | None = None,
        sagemaker_transform: SageMakerTransform | None = None,
    ) -> None:
        self._jobs = jobs
        self._root = transform_root
        self._tracking = tracking
        self._sagemaker_training = sagemaker_training
        self._sagemaker_transform = sagemaker_transform

    def _training_spec(self, payload: dict[str, Any], name: str) -> TrainingJobSpec:
        """The training job a task's parameters describe, named ``name`` unless they say."""
        if not _sagemaker_shaped(payload):
            return TrainingJobSpec.model_validate({"name": name, **payload})
        if self._sagemaker_training is None:
            raise InvalidArgument(
                "SageMaker's CreateTrainingJob request is read by the server's SageMaker API, "
                "which this server does not run",
                field="AlgorithmSpecification",
            )
        return self._sagemaker_training({"TrainingJobName": name, **payload})

    def _transform_body(self, call: TaskCall, name: str) -> dict[str, Any]:
        """The transform job a task's parameters describe, named ``name`` unless they say.
        SageMaker's request naming a SageMaker model is read as the SageMaker API reads it; a
        ``ModelName`` that is a model URI (``models:/churn/3``) is Dockyard's and taken as it
        is."""
        payload = call.payload
        model = payload.get("ModelName")
        if (
            _sagemaker_shaped(payload)
            and self._sagemaker_transform is not None
            and not (isinstance(model, str) and ":/" in model)
        ):
            return self._sagemaker_transform(call.actor, {"TransformJobName": name, **payload})
        body = transform_body(payload)
        body.setdefault("name", name)
        return body

    def _answer(self, call: TaskCall, job: Any, training: bool) -> dict[str, Any]:
        """What the task returns: the job as DescribeTrainingJob shows it (an ARN resource)
        or Dockyard's summary, with the latest value of each metric its run logged (SageMaker's
        ``FinalMetricDataList``; ``metrics`` by name), so a Choice can gate on them."""
        metrics = self._metrics(call, job) if training else {}
        if call.base.startswith("arn:"):
            answer = _sagemaker(job, training)
            if training:
                answer["FinalMetricDataList"] = [
                    {"MetricName": k, "Value": v, "Timestamp": job.end_time}
                    for k, v in metrics.items()
                ]
            return answer
        answer = _plain(job)
        if training:
            answer["metrics"] = metrics
        return answer

    def _metrics(self, call: TaskCall, job: Any) -> dict[str, float]:
        if self._tracking is None or not job.run_id:
            return {}
        try:
            run = self._tracking.get_run(call.actor, job.run_id)
        except DockyardError:
            return {}
        return {key: metric.value for key, metric in sorted(run.metrics.items())}

    def check(self, base: str, payload: Any) -> None:
        """SageMaker's request written out in full is read when the state machine is created,
        so a field Dockyard cannot run is named then."""
        if (
            base in TRAIN
            and isinstance(payload, dict)
            and _sagemaker_shaped(payload)
            and not _dynamic(payload)
        ):
            self._training_spec(payload, "check")

    def start(self, call: TaskCall) -> Outcome:
        training = call.base in TRAIN
        try:
            if not isinstance(call.payload, dict):
                raise InvalidArgument("a job task's parameters must be a JSON object")
            name = work_name("pipeline", call.key)
            if training:
                spec = self._training_spec(call.payload, name)
                tags = {**spec.tags, TASK_TAG: call.key[-256:]}
                job = self._submit(call, spec.model_copy(update={"tags": tags}), training)
            else:
                body = self._transform_body(call, name)
                body["tags"] = {**(body.get("tags") or {}), TASK_TAG: call.key[-256:]}
                job = self._submit(call, body, training)
        except DockyardError as exc:
            if call.base.startswith("arn:"):  # SageMaker's request, refused as SageMaker does
                code = getattr(exc, "kind", None)  # SageMaker's own error code
                if isinstance(exc, AlreadyExists):
                    code = "ResourceInUse"
                return refused(exc.message, code if isinstance(code, str) else None)
            return Failed("States.TaskFailed", exc.message)
        except ValueError as exc:  # a spec pydantic refused
            if call.base.startswith("arn:"):
                return refused(str(exc)[:2000])
            return Failed("States.TaskFailed", str(exc)[:2000])
        if call.mode == SYNC:
            return Waiting(job.name)
        return Succeeded(self._answer(call, job, training))

    def _submit(self, call: TaskCall, work: Any, training: bool) -> Any:
        """Submit ``work`` (a training job's spec, a transform job's body), or find the job
        this task submitted before a crash."""
        name = work.name if training else work["name"]
        existing = self._job(call, name)
        if (
            existing is not None
            and existing.kind == "training"
            and not training
            and call.base.startswith("arn:")
        ):
            # SageMaker keeps transform jobs apart from training jobs, and Step Functions'
            # sample names both after its execution: stored under an alias, as SageMaker's
            # API stores it (dockyard.api.jobs.transform_alias).
            work["tags"] = {**work["tags"], SAGEMAKER_NAME_TAG: name}
            work["name"] = name = transform_alias(name)
            existing = self._job(call, name)
        if existing is not None:
            if existing.spec.get("tags", {}).get(TASK_TAG) == call.key[-256:]:
                return existing  # started before a crash: wait on it
            wanted = "training" if training else "transform"
            if existing.kind != wanted:  # Dockyard's jobs of every kind share one set of names
                raise AlreadyExists(
                    f"a {existing.kind} job named {name} exists: jobs of every kind "
                    f"share one set of names here, so give this {wanted} job another name, "
                    f"such as States.Format('{{}}-{wanted}', $$.Execution.Name)",
                    field="name",
                )
            raise AlreadyExists(f"a job named {name} exists", field="name")
        if training:
            return self._jobs.submit(call.actor, work)
        return self._jobs.submit_transform(call.actor, work, self._root)

    def _job(self, call: TaskCall, name: str) -> Any:
        try:
            return self._jobs.get(call.actor, name)
        except NotFound:
            return None

    def poll(self, call: TaskCall, handle: str) -> Succeeded | Failed | None:
        job = self._jobs.get(call.actor, handle)
        if not job.status.is_terminal:
            return None
        if str(job.status) != "Completed":
            return Failed("States.TaskFailed", f"job {job.name} {job.status}: {job.failure_reason}")
        training = call.base in TRAIN
        return Succeeded(self._answer(call, job, training))

    def cancel(self, call: TaskCall, handle: str) -> None:
        self._jobs.stop(call.actor, handle)


def _plain(job: Any) -> dict[str, Any]:
    return {
        "name": job.name,
        "status": str(job.status),
        "model_uri": job.model_uri,
        "run_id": job.run_id,
        "failure_reason": job.failure_reason,
    }


def _dynamic(payload: Any) -> bool:
    """Parameters computed at run time (``Key.$`` paths at any depth, JSONata) are checked
    when they run."""
    if isinstance(payload, dict):
        return any(str(k).endswith(".$") or _dynamic(v) for k, v in payload.items())
    if isinstance(payload, list):
        return any(_dynamic(v) for v in payload)
    return isinstance(payload, str) and "{%" in payload
