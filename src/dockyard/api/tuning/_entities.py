"""Tuning jobs and their trials as the API returns them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "STOPPED_EARLY",
    "Importance",
    "Trial",
    "TrialCounts",
    "TrialList",
    "TrialStatus",
    "TuningJob",
    "TuningJobList",
    "TuningJobStatus",
]

#: The reason a trial stopped by early stopping (or Hyperband) ends with.
STOPPED_EARLY = "stopped early"


class TuningJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (TuningJobStatus.COMPLETED, TuningJobStatus.FAILED, TuningJobStatus.STOPPED)


class TrialStatus(StrEnum):
    """A trial's state. ``Pending``: its hyperparameters are chosen and recorded, its job not
    yet known to be submitted (a restart submits it, under the same name)."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.STOPPED)


class Trial(BaseModel):
    """One trial: a training job with the trial's hyperparameters.

    Attributes:
        number: 0, 1, 2 ... in the order the strategy proposed them.
        job: The training job now or last running it (``<tuning job>-<number>``, and ``-r1``
            for its retry).
        attempts: How many jobs ran it (2 after the one retry of a failed trial).
        objective: The objective metric's final value (None until it completed).
        steps: How many intermediate values of the objective were seen.
        reason: Why it ended other than Completed (``stopped early``, a failure reason).
    """

    model_config = ConfigDict(frozen=True)

    number: int
    job: str
    status: TrialStatus
    hyperparameters: dict[str, Any]
    objective: float | None = None
    steps: int = 0
    attempts: int = 1
    reason: str | None = None
    run_id: str | None = None
    created_time: int
    end_time: int | None = None


class TrialCounts(BaseModel):
    """SageMaker's ``TrainingJobStatusCounters`` and ``ObjectiveStatusCounters`` in one."""

    model_config = ConfigDict(frozen=True)

    completed: int = 0
    in_progress: int = 0
    failed: int = 0
    stopped: int = 0
    stopped_early: int = 0
    retried: int = 0
    #: Trials that failed in a way worth another attempt and wait for it (SageMaker's
    #: ``RetryableError``); counted nowhere else, so the counters add up to the trials.
    retrying: int = 0


class TuningJob(BaseModel):
    """A tuning job, its counts and its best trial so far."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: TuningJobStatus
    spec: dict[str, Any]
    run_id: str | None = None
    experiment_id: str | None = None
    created_time: int
    end_time: int | None = None
    created_by: str | None = None
    failure_reason: str | None = None
    #: Why it completed: every trial ran, the target was reached, the objective stopped
    #: improving, the runtime limit came.
    completion_reason: str | None = None
    counts: TrialCounts = Field(default_factory=TrialCounts)
    best_trial: Trial | None = None


class TuningJobList(BaseModel):
    model_config = ConfigDict(frozen=True)

    tuning_jobs: list[TuningJob]
    next_page_token: str | None = None


class Importance(BaseModel):
    """How much each hyperparameter explains the objective over the completed trials
    (fANOVA; the values sum to 1), most important first."""

    model_config = ConfigDict(frozen=True)

    importance: dict[str, float]


class TrialList(BaseModel):
    model_config = ConfigDict(frozen=True)

    trials: list[Trial]
