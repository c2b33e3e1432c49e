"""Jobs as the API returns them: status, SageMaker-style secondary status and its history."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Job", "JobEvent", "JobStatus", "SecondaryStatus"]


class JobStatus(StrEnum):
    """Where a job is in its life."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED)


class SecondaryStatus(StrEnum):
    """SageMaker's finer-grained status transitions."""

    PENDING = "Pending"
    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    TRANSFORMING = "Transforming"
    UPLOADING = "Uploading"
    RESTARTING = "Restarting"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    MAX_WAIT_TIME_EXCEEDED = "MaxWaitTimeExceeded"

    @property
    def status(self) -> JobStatus:
        """The primary status a secondary status implies."""
        return _PRIMARY.get(self, JobStatus.IN_PROGRESS)


_PRIMARY = {
    SecondaryStatus.PENDING: JobStatus.PENDING,
    SecondaryStatus.STOPPING: JobStatus.STOPPING,
    SecondaryStatus.COMPLETED: JobStatus.COMPLETED,
    SecondaryStatus.FAILED: JobStatus.FAILED,
    SecondaryStatus.STOPPED: JobStatus.STOPPED,
    SecondaryStatus.MAX_RUNTIME_EXCEEDED: JobStatus.STOPPED,
    SecondaryStatus.MAX_WAIT_TIME_EXCEEDED: JobStatus.FAILED,
}


class JobEvent(BaseModel):
    """One timestamped status transition."""

    model_config = ConfigDict(frozen=True)

    time: int
    status: JobStatus
    secondary_status: SecondaryStatus
    message: str = ""


class Job(BaseModel):
    """A job with its spec, state and history."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    name: str
    kind: str
    status: JobStatus
    secondary_status: SecondaryStatus
    spec: dict[str, Any]
    failure_reason: str | None = None
    exit_code: int | None = None
    run_id: str | None = None
    model_uri: str | None = None
    created_time: int
    start_time: int | None = None
    end_time: int | None = None
    progress: dict[str, Any] | None = None
    created_by: str | None = None
    experiment_id: str | None = None
    events: list[JobEvent] = Field(default_factory=list)
