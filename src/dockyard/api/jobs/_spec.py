"""The training job spec: one frozen model validates a YAML file, a REST body and SDK arguments.

Limits follow SageMaker's CreateTrainingJob (100 hyperparameters, values up to 2,500 characters,
40 metric definitions, 100 environment variables, 20 channels), so a spec that runs here would be
accepted there and the other way round; hyperparameter names follow the stricter rule of run
param keys (up to 250 letters, digits and ``_ - . : /`` or spaces), as they are logged as the
run's params. Specs carry URIs, never live objects, so any executor on any machine can run them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from dockyard.api._sagemaker_sources import refuse_manifests
from dockyard.api.jobs._instances import LOCAL_TYPES, instance_type
from dockyard.api.tracking import LIMITS, validate_key

__all__ = [
    "Channel",
    "CheckpointConfig",
    "ExecutorName",
    "MetricDefinition",
    "OutputConfig",
    "Resources",
    "RetryStrategy",
    "StoppingCondition",
    "TrainingJobSpec",
]

JobName = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", max_length=63)
]
ChannelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\.\-_]{1,64}$")]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
#: The name of one of the server's executors (``local``, ``ray``...): checked against the ones
#: the server runs at submit, where the answer lists them.
ExecutorName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,15}$")]


def _run_key(key: str) -> str:
    try:
        return validate_key(key)
    except ValueError as exc:
        raise ValueError(f"{exc} (it becomes a key of the job's run)") from exc


# Hyperparameters become the params, and tags the tags, of the run created at submit: checked by
# the spec, so a bad key is refused before that run exists.
RunKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=LIMITS.key_length),
    AfterValidator(_run_key),
]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_run_key)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Channel(_Spec):
    """One input channel: where its data is and how it is encoded."""

    uri: Uri = Field(validation_alias=AliasChoices("uri", "S3Uri", "s3_uri"))
    content_type: str | None = Field(
        default=None, max_length=256, validation_alias=AliasChoices("content_type", "ContentType")
    )


class MetricDefinition(_Spec):
    """A metric parsed from the job's log: the first regex group is the value."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        validation_alias=AliasChoices("name", "Name")
    )
    regex: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        validation_alias=AliasChoices("regex", "Regex")
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        if compiled.groups < 1:
            raise ValueError("the regex needs one capturing group around the value")
        return value


class Resources(_Spec):
    """What one job may use; the executor runs as many jobs at once as CPUs and GPUs allow.

    ``instance_type`` (SageMaker's ``ml.m5.xlarge``...) stands for its CPUs and memory
    (:mod:`dockyard.api.jobs._instances`) where ``cpus`` and ``memory_mb`` are not given; the
    server caps them at what its executor has. ``instance_count`` is 1: a job runs on one host.
    ``gpus`` are whole devices on that host, given to the job as ``CUDA_VISIBLE_DEVICES``; an
    instance type's GPUs are not asked for unless ``gpus`` says so (SageMaker specs written for
    GPU instances keep running on CPU-only servers).
    """

    cpus: float = Field(default=1.0, gt=0, le=1024)
    memory_mb: int | None = Field(default=None, ge=16, le=4_194_304)
    gpus: int = Field(default=0, ge=0, le=64)
    instance_type: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, validation_alias=AliasChoices("instance_type", "InstanceType")
    )
    instance_count: int = Field(
        default=1, ge=1, le=1000, validation_alias=AliasChoices("instance_count", "InstanceCount")
    )

    @model_validator(mode="before")
    @classmethod
    def _from_instance_type(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        name = value.get("instance_type", value.get("InstanceType"))
        if not isinstance(name, str) or name in LOCAL_TYPES:
            return value
        try:
            resolved = instance_type(name)
        except ValueError as exc:
            raise ValueError(f"instance_type: {exc}") from None
        value = dict(value)
        value.setdefault("cpus", resolved.cpus)
        value.setdefault("memory_mb", resolved.memory_mb)
        return value

    @field_validator("instance_count")
    @classmethod
    def _one_host(cls, value: int) -> int:
        if value != 1:
            raise ValueError(
                f"a Dockyard training job runs on one host, so instance_count must be 1 "
                f"(got {value}); give it the CPUs of several with resources.cpus"
            )
        return value


class StoppingCondition(_Spec):
    """Limits after which a job is stopped (runtime) or failed (queue wait)."""

    max_runtime_s: int = Field(
        default=86_400,
        ge=1,
        le=28 * 86_400,
        validation_alias=AliasChoices("max_runtime_s", "MaxRuntimeInSeconds"),
    )
    max_wait_s: int | None = Field(
        default=None,
        ge=1,
        le=28 * 86_400,
        validation_alias=AliasChoices("max_wait_s", "MaxWaitTimeInSeconds"),
    )


class RetryStrategy(_Spec):
    """How many times a failed job runs in all (checkpoints are restored on each retry)."""

    max_attempts: int = Field(
        default=1,
        ge=1,
        le=30,
        validation_alias=AliasChoices("max_attempts", "MaximumRetryAttempts"),
    )


class CheckpointConfig(_Spec):
    """Where ``/opt/ml/checkpoints`` is synced while running and restored from on retry."""

    uri: Uri = Field(validation_alias=AliasChoices("uri", "S3Uri"))


class OutputConfig(_Spec):
    """Where the model goes and, optionally, the registered model it becomes a version of."""

    register_as: Annotated[str, StringConstraints(max_length=256)] | None = None


class TrainingJobSpec(_Spec):
    """A training job: code or a built-in algorithm, hyperparameters, data channels, limits.

    Exactly one of ``entry_point`` (a script in ``source_dir``), ``module`` (``python -m``) or
    ``algorithm`` (a built-in such as ``xgboost``) says what runs.
    """

    name: JobName | None = None
    entry_point: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    module: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w.]*$")] | None = None
    source_dir: Uri | None = None
    algorithm: Literal["xgboost", "linear-learner"] | None = None
    hyperparameters: dict[
        RunKey,
        Annotated[str, StringConstraints(max_length=2500)],
    ] = Field(default_factory=dict, max_length=100)
    inputs: dict[ChannelName, Channel] = Field(
        default_factory=dict, max_length=20, validation_alias=AliasChoices("inputs", "channels")
    )
    output: OutputConfig = Field(default_factory=OutputConfig)
    resources: Resources = Field(default_factory=Resources)
    stopping_condition: StoppingCondition = Field(default_factory=StoppingCondition)
    retry_strategy: RetryStrategy = Field(default_factory=RetryStrategy)
    environment: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,511}$")],
        Annotated[str, StringConstraints(max_length=512)],
    ] = Field(default_factory=dict, max_length=100)
    metric_definitions: list[MetricDefinition] = Field(default_factory=list, max_length=40)
    checkpoint: CheckpointConfig | None = None
    experiment: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=50
    )
    #: Which of the server's executors runs the job; None: the server's default.
    executor: ExecutorName | None = None

    @field_validator("hyperparameters", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # SageMaker passes every hyperparameter as a string; numbers and booleans in YAML or
        # SDK kwargs are converted the way its Python SDK does (json-ish lower-case booleans).
        if isinstance(value, dict):
            return {
                k: ("true" if v is True else "false" if v is False else str(v))
                if isinstance(v, (int, float, bool))
                else v
                for k, v in value.items()
            }
        return value

    @field_validator("inputs", mode="before")
    @classmethod
    def _channel_shorthand(cls, value: Any) -> Any:
        # {"train": "s3://..."} is shorthand for {"train": {"uri": "s3://..."}}.
        if isinstance(value, dict):
            return {k: {"uri": v} if isinstance(v, str) else v for k, v in value.items()}
        if isinstance(value, list):  # SageMaker's InputDataConfig list
            out: dict[str, Any] = {}
            for i, item in enumerate(value):
                if not isinstance(item, dict) or "ChannelName" not in item:
                    raise ValueError("each InputDataConfig entry needs a ChannelName")
                if not isinstance(item["ChannelName"], str):
                    # a TypeError here would not be a validation error: the caller got a 500
                    raise ValueError(f"InputDataConfig[{i}].ChannelName must be a string")
                where = f"InputDataConfig[{i}].DataSource"
                data_source = item.get("DataSource", {})
                if not isinstance(data_source, dict):
                    raise ValueError(f"{where}: give an object holding S3DataSource")
                source = data_source.get("S3DataSource", {})
                if not isinstance(source, dict):
                    raise ValueError(f"{where}.S3DataSource: give an object holding S3Uri")
                refuse_manifests(source, f"{where}.S3DataSource")
                out[item["ChannelName"]] = {
                    "uri": source.get("S3Uri", item.get("uri")),
                    "content_type": item.get("ContentType"),
                }
            return out
        return value

    @model_validator(mode="after")
    def _one_thing_runs(self) -> TrainingJobSpec:
        chosen = [name for name in ("entry_point", "module", "algorithm") if getattr(self, name)]
        if len(chosen) != 1:
            what = " and ".join(chosen) if chosen else "none"
            raise ValueError(f"give exactly one of entry_point, module or algorithm (got {what})")
        if self.entry_point and not self.source_dir:
            raise ValueError("entry_point needs source_dir: the folder that holds the script")
        if self.entry_point and (
            self.entry_point.startswith("/") or ".." in self.entry_point.split("/")
        ):
            raise ValueError("entry_point must be a path inside source_dir")
        return self
