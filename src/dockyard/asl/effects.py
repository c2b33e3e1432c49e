"""What the interpreter asks of the shell (effects), what the shell tells it back
(completions), and the result of one call (:class:`Step`).

The interpreter never does I/O: a Task state becomes a :class:`StartTask` the shell carries
out, a Wait state a :class:`StartTimer` it fires later; their outcomes come back as
:class:`TaskSucceeded` / :class:`TaskFailed` / :class:`TimerFired` passed to ``advance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from dockyard.asl.history import HistoryEvent

__all__ = [
    "MAX_TIMER_SECONDS",
    "CancelTask",
    "CancelTimer",
    "Completion",
    "Effect",
    "StartTask",
    "StartTimer",
    "Step",
    "StopRequested",
    "TaskFailed",
    "TaskSucceeded",
    "TimerFired",
]


#: The longest a timer may run: Step Functions' bound on Seconds, TimeoutSeconds and
#: HeartbeatSeconds (about three years). A value read at run time (SecondsPath, a JSONata
#: expression) past it fails the state; a retry's growing delay stops growing at it.
MAX_TIMER_SECONDS: Final = 99_999_999


@dataclass(frozen=True, slots=True)
class StartTask:
    """Run ``resource`` with ``payload``; ``task_id`` is unique in the execution and names this
    state visit and attempt (the shell's idempotency key)."""

    task_id: str
    state_name: str
    resource: str
    payload: Any
    timeout_s: float | None
    heartbeat_s: float | None
    task_token: str | None


@dataclass(frozen=True, slots=True)
class CancelTask:
    task_id: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer_id: str
    due: datetime


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer_id: str


Effect = StartTask | CancelTask | StartTimer | CancelTimer


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    task_id: str
    output: Any


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """A task's failure; ``error`` ``States.Timeout`` or ``States.HeartbeatTimeout`` records a
    timeout (the shell enforces heartbeats)."""

    task_id: str
    error: str
    cause: str | None


@dataclass(frozen=True, slots=True)
class TimerFired:
    timer_id: str


@dataclass(frozen=True, slots=True)
class StopRequested:
    error: str | None
    cause: str | None


Completion = TaskSucceeded | TaskFailed | TimerFired | StopRequested


@dataclass(frozen=True, slots=True)
class Step:
    """One call's outcome: the snapshot to persist verbatim, the effects to carry out, the
    history events in order, and where the execution stands."""

    state: dict[str, Any]
    effects: list[Effect]
    events: list[HistoryEvent]
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: Any | None
    error: str | None
    cause: str | None
