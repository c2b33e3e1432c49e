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
    "Metric",
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


class Run(_Frozen):
    """A run with its data: params, the latest value of each metric, tags and dataset inputs."""

    info: RunInfo
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[DatasetInput] = Field(default_factory=list)
