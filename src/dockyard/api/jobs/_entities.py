"""Jobs as the API returns them (status, SageMaker-style secondary status and its history), and
what a job's runner and the server say to each other."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dockyard.limits import LIMITS

__all__ = [
    "Job",
    "JobControl",
    "JobEvent",
    "JobLaunch",
    "JobStatus",
    "LogAppended",
    "RunnerEvent",
    "RunnerReport",
    "SecondaryStatus",
]


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
    MONITORING = "Monitoring"
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
    #: The executor that runs (or will run) the job: its spec's ``executor``, else the
    #: server's default at submit.
    executor: str | None = None
    #: Parameters the spec referenced, as resolved at submit: name, version, type, field.
    parameters: list[dict[str, Any]] = Field(default_factory=list)
    events: list[JobEvent] = Field(default_factory=list)
    #: The model version the job registered (``models:/<name>/<n>``, its
    #: ``output.register_as``), while it exists; only on a single job's read.
    registered_version: str | None = None


# -- between a job's runner and the server --------------------------------------------------------


class JobLaunch(BaseModel):
    """What a runner fetches when it starts: its job, and the server's settings it needs.

    Attributes:
        token: The token the job's own code gets (``DOCKYARD_TOKEN``); None on a server
            without accounts.
        log_offset: Where the job's log ends now: the runner appends from there.
        allowed_roots: The roots local locations must lie under, re-checked at run time.
        job_env: ``DOCKYARD_JOB_ENV``: names the job's process gets from the runner's
            environment, and ``NAME=value`` pairs.
        user: The user the job's code runs as (``DOCKYARD_JOB_USER``), resolved.
        opt_ml: Whether training code sees its folder at ``/opt/ml``.
        masked: The clear values of the SecureStrings in the job's environment: the runner
            writes ``******`` for each in the job's log and failure reason.
    """

    model_config = ConfigDict(frozen=True)

    job_id: str
    name: str
    kind: str
    spec: dict[str, Any]
    run_id: str | None
    token: str | None
    log_offset: int
    s3_endpoint_url: str | None
    stop_grace_s: float
    checkpoint_sync_s: float
    allowed_roots: list[str]
    job_env: list[str]
    user: dict[str, Any] | None
    opt_ml: bool
    masked: list[str] = []


class RunnerEvent(BaseModel):
    """One line of a runner's status outbox: a status transition, or a progress report.

    ``at`` is the line's byte offset in the outbox: the server applies each line once, however
    often a runner that lost an answer sends it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: int = Field(ge=0)
    time: int
    secondary_status: SecondaryStatus | None = None
    message: str = Field(default="", max_length=100_000)
    progress: dict[str, Any] | None = None
    failure_reason: str | None = Field(default=None, max_length=100_000)
    exit_code: int | None = None
    model_uri: str | None = Field(default=None, max_length=2000)


class RunnerReport(BaseModel):
    """Status lines from a runner (possibly none: it is also how a runner polls its control
    state), and the outbox offset after the last of them."""

    model_config = ConfigDict(frozen=True)

    events: list[RunnerEvent] = Field(default_factory=list, max_length=LIMITS.report_events)
    next_offset: int = Field(ge=0)


class JobControl(BaseModel):
    """What the server answers a runner: the job's status and whether it should stop."""

    model_config = ConfigDict(frozen=True)

    status: JobStatus
    stop_requested: bool


class LogAppended(BaseModel):
    """The size of a job's log after an append."""

    model_config = ConfigDict(frozen=True)

    size: int
