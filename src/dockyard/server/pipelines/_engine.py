"""One transition of an execution = one transaction.

:meth:`Engine.begin`, :meth:`Engine.feed` and :meth:`Engine.redrive` each read the execution's
snapshot, let the core compute the :class:`~dockyard.server.pipelines._core.StepLike`, and in the
same transaction write the new snapshot, number and insert the history events, record the effects
(a task row per StartTask, claimed by its key; a timer row per StartTimer; cancellations) and
append ``pipeline.execution.*`` events to the event log. Nothing is *carried out* here: the
engine loop (:mod:`~dockyard.server.pipelines._loop`) starts scheduled tasks and fires timers
after the commit, so a crash at any point leaves either the old transition or the new one, and
the rows say what remains to do.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from dockyard.asl.history import context_time
from dockyard.server.actor import Actor
from dockyard.server.events import EventLog
from dockyard.server.pipelines._core import Core, HistoryEventLike, StepLike
from dockyard.server.pipelines._repository import OPEN_TASK, PipelineRepository
from dockyard.server.store import Database, after_commit

__all__ = ["WORK", "Claims", "Completion", "Engine", "now_ms", "to_datetime"]

#: What a transition that left work tells the server's other processes (no event of the log:
#: a wake-up for the engine loop, wherever it leads).
WORK = "pipeline.work"

log = logging.getLogger(__name__)

SYSTEM = Actor.system("pipelines")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
#: The snapshot column of a succeeded execution.
_NO_SNAPSHOT = "{}"
#: Makes the completions to feed once the transaction holds the execution, from the core and the
#: transaction (in which it claims the task rows it completes, so a completion is fed once).
Completion = Callable[[Core, Connection], Sequence[Any]]
KIND = "execution"


@dataclass
class Claims:
    """Tasks a transition's caller carries out itself, right after the commit, instead of
    leaving them to the engine loop.

    ``wants`` sees each StartTask effect; the columns it returns are written into the task's row
    in the transition (it is recorded as started in the same commit that schedules it, not in a
    transaction of its own), and the row lands in ``taken``. A crash before the caller finishes
    leaves a started row the loop takes up again when it resumes (see
    :meth:`TaskRunner.reschedule_interrupted`). ``execution`` is the execution's row as the
    transition read it.
    """

    wants: Callable[[Any], dict[str, Any] | None]
    taken: list[dict[str, Any]] = field(default_factory=list)
    execution: Any = None


@dataclass
class _Event:
    type: str
    details: dict[str, Any]
    timestamp: datetime


@dataclass
class _Broken:
    """The step of an execution the interpreter failed to advance: it fails with
    ``States.Runtime``, naming the failure, and keeps its saved state. Left running, the same
    completion would fail again on every pass of the engine loop, ahead of every other
    execution's timers and tasks."""

    state: dict[str, Any]
    events: Sequence[HistoryEventLike]
    effects: Sequence[Any] = ()
    status: str = "FAILED"
    output: Any | None = None
    error: str | None = "States.Runtime"
    cause: str | None = None

    @classmethod
    def of(cls, snapshot: dict[str, Any], exc: Exception, now: int) -> _Broken:
        cause = f"the execution could not go on: {type(exc).__name__}: {exc}"[:2000]
        details = {"executionFailedEventDetails": {"error": "States.Runtime", "cause": cause}}
        event = _Event("ExecutionFailed", details, to_datetime(now))
        return cls(state=snapshot, events=[event], cause=cause)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


class _Begun:
    """The few columns of an execution being inserted that writing its first step reads."""

    status = "RUNNING"
    next_event_id = 1

    def __init__(self, *, arn: str, state_machine_arn: str, name: str) -> None:
        self.arn = arn
        self.state_machine_arn = state_machine_arn
        self.name = name


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Engine:
    """Applies the core's steps to the database (see the module docstring).

    Args:
        core: The States Language interpreter.
        wake: Set after a transition that scheduled work, so the engine loop acts at once.
        clock: Milliseconds since the epoch (tests move it).
    """

    def __init__(
        self,
        db: Database,
        events: EventLog,
        core: Core,
        *,
        wake: threading.Event | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._db = db
        self._events = events
        self.core = core
        self.repo = PipelineRepository()
        self.wake = wake or threading.Event()
        self.clock = clock
        #: Set with :attr:`wake` when a transition left work (the loop clears it as it looks):
        #: the event log wakes the loop for every append, most of which leave the loop nothing.
        self.signalled = True

    def signal(self) -> None:
        """Work was recorded for the engine loop: it acts at once, in whichever of the
        server's processes it leads (the others are told through the event log's peers)."""
        self.signal_here()
        self._events.tell_peers(WORK)

    def signal_here(self) -> None:
        """Another process recorded work: this process's loop acts at once, if it leads."""
        self.signalled = True
        self.wake.set()

    # -- the three ways an execution moves ------------------------------------------------------

    def begin(
        self,
        conn: Connection,
        actor: Actor,
        machine: Any,
        arn: str,
        name: str,
        input_text: str,
        *,
        definition: dict[str, Any],
    ) -> int:
        """Insert the execution and run its first step in the caller's transaction; returns
        its start time."""
        now = self.clock()
        context = {
            "Execution": {
                "Id": arn,
                "Name": name,
                "StartTime": context_time(to_datetime(now)),
                "RoleArn": machine.role_arn,
                "Input": orjson.loads(input_text),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": machine.arn, "Name": machine.name},
        }
        step = self.core.start(
            definition,
            orjson.loads(input_text),
            context=context,
            now=to_datetime(now),
            seed=secrets.token_hex(16),  # makes task tokens unguessable
        )
        # One INSERT of the row as the first step leaves it (an execution that ends inside
        # StartExecution is written once, not inserted then updated).
        values = self._step_values(step, 1, now)
        self.repo.insert_execution(
            conn,
            arn=arn,
            state_machine_arn=machine.arn,
            name=name,
            input=input_text,
            definition=machine.definition,
            revision_id=machine.revision_id,
            owner_id=actor.user_id if actor.job is None else None,
            created_by=actor.label,
            start_time=now,
            **values,
        )
        row = _Begun(arn=arn, state_machine_arn=machine.arn, name=name)
        self._event(conn, actor, "pipeline.execution.started", row, {"name": name})
        # Its tasks and timers are the ones this step records: nothing older to close.
        self._apply(conn, actor, row, step, now, written=values)
        return now

    def feed(
        self,
        arn: str,
        completions: Completion,
        *,
        actor: Actor = SYSTEM,
        claims: Claims | None = None,
    ) -> str | None:
        """Advance ``arn`` by the completions ``completions`` makes, in one transaction.
        Returns the execution's status after it (None when it had ended: nothing changes).
        ``claims``: the tasks the caller carries out itself (see :class:`Claims`)."""
        with self._db.write() as conn:
            row = self.repo.execution(conn, arn, lock=True)
            if row.status in TERMINAL:
                return None
            found = list(completions(self.core, conn))
            if not found:
                return str(row.status)
            now = self.clock()
            snapshot = orjson.loads(row.snapshot)
            try:
                step: StepLike = self.core.advance(snapshot, found, now=to_datetime(now))
            except Exception as exc:  # the interpreter's fault ends this execution, not others
                log.exception("pipeline execution %s: the interpreter failed to advance it", arn)
                step = _Broken.of(snapshot, exc, now)
            if claims is not None:
                claims.execution = row
            return self._apply(conn, actor, row, step, now, claims=claims)

    def redrive(self, conn: Connection, actor: Actor, row: Any) -> int:
        """Start ``row`` (a failed, timed out or aborted execution) again from where it failed,
        in the caller's transaction; returns the redrive time."""
        now = self.clock()
        step = self.core.redrive(orjson.loads(row.snapshot), now=to_datetime(now))
        values = {
            "status": "RUNNING",
            "redrive_count": row.redrive_count + 1,
            "redrive_time": now,
            "stop_time": None,
            "output": None,
            "error": None,
            "cause": None,
        }
        self.repo.change_execution(conn, row.arn, values)
        row = self.repo.execution(conn, row.arn)
        self._event(conn, actor, "pipeline.execution.redriven", row, {"count": row.redrive_count})
        self._apply(conn, actor, row, step, now)
        return now

    # -- writing a step -------------------------------------------------------------------------

    def _step_values(self, step: StepLike, first: int, now: int) -> dict[str, Any]:
        """The execution row's columns after ``step`` (its events numbered from ``first``).

        A succeeded execution keeps no snapshot: nothing resumes it (a redrive takes a failed,
        timed out or aborted one), and the interpreter's state, its definition included, was
        most of what a brief execution wrote."""
        values: dict[str, Any] = {
            "snapshot": _NO_SNAPSHOT if step.status == "SUCCEEDED" else dumps(step.state),
            "status": step.status,
            "next_event_id": first + len(step.events),
        }
        if step.status in TERMINAL:
            values.update(
                stop_time=now,
                output=dumps(step.output) if step.status == "SUCCEEDED" else None,
                error=step.error,
                cause=step.cause,
            )
        return values

    def _apply(
        self,
        conn: Connection,
        actor: Actor,
        row: Any,
        step: StepLike,
        now: int,
        *,
        written: dict[str, Any] | None = None,
        claims: Claims | None = None,
    ) -> str:
        """Write ``step`` of ``row``'s execution; ``written``: the row was just inserted with
        these values (a new execution: no row to update, no older tasks or timers)."""
        arn = row.arn
        first = int(row.next_event_id)
        history = [
            (
                event.type,
                _ms(event.timestamp),
                event.details or {},
                getattr(event, "previous_event_id", None),
            )
            for event in step.events
        ]
        self.repo.add_history(conn, arn, first, history)
        scheduled = False
        for effect in step.effects:
            scheduled |= self._record(conn, arn, effect, now, claims)
        if written is None:
            values = self._step_values(step, first, now)
            self.repo.change_execution(conn, arn, values)
        if step.status in TERMINAL and (written is None or step.effects):
            scheduled |= self._close(conn, arn)
        if step.status != row.status and step.status in TERMINAL:
            body = {"name": row.name, "error": step.error} if step.error else {"name": row.name}
            self._event(conn, actor, f"pipeline.execution.{step.status.lower()}", row, body)
        if scheduled:
            # Once committed: a loop woken before would look, find nothing yet, and sleep.
            after_commit(self.signal)
        return str(step.status)

    def _record(
        self, conn: Connection, arn: str, effect: Any, now: int, claims: Claims | None
    ) -> bool:
        """Record one effect; True when it leaves work for the engine loop."""
        kind = type(effect).__name__
        if kind == "StartTask":
            task = {
                "task_key": f"{arn}:{effect.task_id}",
                "execution_arn": arn,
                "task_id": effect.task_id,
                "state_name": effect.state_name,
                "resource": effect.resource,
                "payload": dumps(effect.payload),
                "task_token": effect.task_token,
                "status": "scheduled",
                "heartbeat_s": effect.heartbeat_s,
                "created_time": now,
            }
            taken = None if claims is None else claims.wants(effect)
            if taken is not None:
                task.update(taken)
            inserted = self.repo.claim_task(conn, task)
            if taken is None:
                return True
            if inserted and claims is not None:
                claims.taken.append(task)
            return False
        if kind == "CancelTask":
            key = f"{arn}:{effect.task_id}"
            # Never started: nothing to stop. Started: the loop stops what it waits on.
            self.repo.set_task_status(conn, key, "cancelled", only=("scheduled",))
            return bool(self.repo.set_task_status(conn, key, "cancelling", only=("started",)))
        if kind == "StartTimer":
            self.repo.set_timer(conn, arn, effect.timer_id, _ms(effect.due))
            return True
        if kind == "CancelTimer":
            self.repo.cancel_timer(conn, arn, effect.timer_id)
            return False
        raise TypeError(f"unknown effect {kind}")

    def _close(self, conn: Connection, arn: str) -> bool:
        """An execution that ended waits on nothing: its timers go, its open tasks stop."""
        self.repo.cancel_timers(conn, arn)
        stopping = False
        for task in self.repo.open_tasks(conn, arn):
            if task.status == "started":
                self.repo.set_task_status(conn, task.task_key, "cancelling")
                stopping = True
            elif task.status in OPEN_TASK and task.status != "cancelling":
                self.repo.set_task_status(conn, task.task_key, "cancelled")
        return stopping

    def finish_task(self, conn: Connection, key: str, *, only: tuple[str, ...] = OPEN_TASK) -> bool:
        """Claim task ``key``'s completion (its row becomes done); False when it was not open,
        so its completion was fed already or it was cancelled."""
        return bool(self.repo.set_task_status(conn, key, "done", only=only))

    def _event(
        self, conn: Connection, actor: Actor, type: str, row: Any, body: dict[str, Any]
    ) -> None:
        machine = row.state_machine_arn.rsplit(":", 1)[-1]
        self._events.append(
            conn, actor, type, KIND, row.arn, scope=f"pipeline:{machine}", body=body
        )
