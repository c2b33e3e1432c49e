"""Monitoring schedules and their executions as the API returns them, and the small requests
that are not a spec (run now, ground truth).

An execution's ``status`` follows SageMaker's monitoring executions: ``Pending`` (its job is
queued), ``InProgress``, ``Completed``, ``CompletedWithViolations``, ``Failed``. ``kind`` is
``data_quality`` for a scheduled or manual check of a window, ``baseline`` for the job that
suggests a schedule's baseline.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dockyard.api.monitoring._spec import MonitoringScheduleSpec

__all__ = [
    "ExecutionStatus",
    "GroundTruthRecord",
    "GroundTruthUploaded",
    "MonitoringExecution",
    "MonitoringExecutionList",
    "MonitoringSchedule",
    "MonitoringScheduleList",
    "RunMonitoringSchedule",
    "ScheduleStatus",
    "ViolationList",
]


class ScheduleStatus(StrEnum):
    #: Its baseline is being suggested (a baseline job runs).
    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    #: Disabled: its windows pass unchecked.
    STOPPED = "Stopped"
    #: Its baseline could not be suggested (``failure_reason`` says why).
    FAILED = "Failed"


class ExecutionStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    COMPLETED_WITH_VIOLATIONS = "CompletedWithViolations"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self in (
            ExecutionStatus.COMPLETED,
            ExecutionStatus.COMPLETED_WITH_VIOLATIONS,
            ExecutionStatus.FAILED,
        )


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MonitoringSchedule(_Out):
    """A schedule: its spec, where its baseline is, and where its windows have reached.

    ``next_window_start`` and ``next_window_end`` (ms): the next window the loop checks (an hour
    for ``hourly``, from the previous cron slot to the next otherwise). ``next_check_time``
    (ms): when it checks it, once it has ended and its capture settled (a minute later) and,
    with model quality, ``ground_truth_delay_hours`` after that. Both None from a server older
    than them.
    """

    name: str
    spec: MonitoringScheduleSpec
    status: ScheduleStatus
    baseline_uri: str | None = None
    baseline_job: str | None = None
    experiment_id: str | None = None
    run_id: str | None = None
    next_window_start: int
    next_window_end: int | None = None
    next_check_time: int | None = None
    failure_reason: str | None = None
    last_execution: MonitoringExecution | None = None
    created_by: str
    created_time: int
    updated_time: int


class MonitoringExecution(_Out):
    """One check of one window: its job, what it found, where its report is."""

    execution_id: str
    schedule: str
    kind: Literal["data_quality", "baseline"]
    trigger: Literal["scheduled", "manual", "baseline"]
    window_start: int
    window_end: int
    status: ExecutionStatus
    job: str | None = None
    rows: int | None = None
    violation_count: int = 0
    violations_by_type: dict[str, int] = Field(default_factory=dict)
    drifted_features: list[dict[str, Any]] = Field(default_factory=list)
    #: Model-quality metrics (flat: ``accuracy``, ``rmse``...) when ground truth was joined.
    metrics: dict[str, float] = Field(default_factory=dict)
    #: Ground-truth labels joined with captured predictions.
    labelled_rows: int | None = None
    #: Labelled records that could not be joined (a scalar label for a request that scored
    #: several rows...): how many, and why for the first ones.
    unmatched_labels: int = 0
    ground_truth_problems: list[str] = Field(default_factory=list)
    output_uri: str | None = None
    report_uri: str | None = None
    #: Where the API serves the HTML report (relative to the server).
    report_url: str | None = None
    failure_reason: str | None = None
    created_time: int
    end_time: int | None = None
    #: The violations (``constraint_violations.json``'s, then model-quality breaches); on
    #: describe only.
    violations: list[dict[str, Any]] | None = None


class MonitoringScheduleList(_Out):
    monitoring_schedules: list[MonitoringSchedule]
    next_page_token: str | None = None


class MonitoringExecutionList(_Out):
    executions: list[MonitoringExecution]
    next_page_token: str | None = None


class ViolationList(_Out):
    """Violations of a schedule's recent executions, newest execution first."""

    violations: list[dict[str, Any]]
    next_page_token: str | None = None


class RunMonitoringSchedule(BaseModel):
    """Check a window now: ``start`` and ``end`` in ms since the epoch (default: the last
    completed hour)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> RunMonitoringSchedule:
        # "field: message": a rule across fields names its field (see invalid_from_validation).
        if (self.start is None) != (self.end is None):
            missing = "end" if self.end is None else "start"
            raise ValueError(f"{missing}: give both start and end, or neither")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class GroundTruthRecord(BaseModel):
    """One label: the inference id a captured record carries (``request_id``) and its truth."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inference_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    label: Any


class GroundTruthUploaded(_Out):
    records: int
    uri: str


MonitoringSchedule.model_rebuild()
