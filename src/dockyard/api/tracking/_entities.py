"""Tracking resources as frozen, typed data: what the service returns and the API serialises.

Non-finite metric values cross JSON as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``
(the protobuf JSON convention MLflow's clients use), because JSON has no literal for them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "LinkedMetric",
    "LoggedModel",
    "LoggedModelStatus",
    "Metric",
    "ModelOutput",
    "Run",
    "RunInfo",
    "RunStatus",
    "ViewType",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings", extra="forbid")


class RunStatus(StrEnum):
    """A run's lifecycle, with MLflow's names."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(StrEnum):
    """Soft deletion: deleted resources can be restored until garbage-collected."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(StrEnum):
    """Which lifecycle stages a listing includes."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"


class Experiment(_Frozen):
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = Field(default_factory=dict)


class Metric(_Frozen):
    """One point of a metric's history."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class Dataset(_Frozen):
    """A dataset a run consumed, identified by name and content digest."""

    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class DatasetInput(_Frozen):
    """A dataset used by a run, with tags such as its context (training, validation)."""

    dataset: Dataset
    tags: dict[str, str] = Field(default_factory=dict)


class RunInfo(_Frozen):
    """A run's identity and lifecycle."""

    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: RunStatus
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage
    parent_run_id: str | None = None


class ModelOutput(_Frozen):
    """A logged model a run produced, and the step it was logged at."""

    model_id: str
    step: int = 0


class Run(_Frozen):
    """A run with its data: params, the latest value of each metric, tags, dataset inputs, and
    the logged models it consumed (``model_inputs``) and produced (``outputs``)."""

    info: RunInfo
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[DatasetInput] = Field(default_factory=list)
    model_inputs: list[str] = Field(default_factory=list)
    outputs: list[ModelOutput] = Field(default_factory=list)


class LoggedModelStatus(StrEnum):
    """Whether a logged model's files are complete, with MLflow's names.

    ``PENDING`` from creation until the client finalizes it ``READY`` (every file uploaded) or
    ``FAILED`` (the upload broke off).
    """

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


class LinkedMetric(_Frozen):
    """A metric point a run logged against a logged model, optionally for one dataset."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LoggedModel(_Frozen):
    """A model logged into an experiment (MLflow 3's ``LoggedModel``), before any registration.

    Attributes:
        model_id: ``m-`` and 32 hex digits; ``models:/<model_id>`` names it.
        artifact_location: The artifact-store key of its files (an ``MLmodel`` package once a
            flavor's ``log_model`` uploaded it): ``<experiment>/models/<model_id>/artifacts``.
        source_run_id: The run that produced it, if any.
        creator: Who created it; with accounts, only they or an experiment manager change it.
        metrics: Every point linked to it, oldest step first.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    status: LoggedModelStatus
    status_message: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    creator: str = ""
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    metrics: list[LinkedMetric] = Field(default_factory=list)
