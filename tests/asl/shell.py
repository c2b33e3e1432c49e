"""A tiny stand-in for the server's engine: carries out effects until the execution ends.

Tasks are answered by ``tasks(resource, payload)`` (return an output or raise ``Failure``),
timers fire in due order with the clock moved to their due time, and the snapshot goes
through ``json`` between every call, as the shell persists it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dockyard.asl import (
    CancelTask,
    CancelTimer,
    HistoryEvent,
    StartTask,
    StartTimer,
    Step,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    advance,
    start,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONTEXT = {
    "Execution": {"Id": "arn:exec:1", "Name": "run-1", "StartTime": "2026-01-01T00:00:00Z"},
    "StateMachine": {"Id": "arn:sm:1", "Name": "sm"},
}


class Failure(Exception):
    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


@dataclass
class Run:
    step: Step
    events: list[HistoryEvent] = field(default_factory=list)
    tasks: list[StartTask] = field(default_factory=list)
    timers: list[StartTimer] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    now: datetime = NOW

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def details(self, kind: str) -> list[dict[str, Any]]:
        return [event.details for event in self.events if event.type == kind]


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(state))
    return loaded


def execute(
    definition: dict[str, Any],
    data: Any = None,
    tasks: Callable[[str, Any], Any] | None = None,
    *,
    max_calls: int = 200,
) -> Run:
    step = start(definition, {} if data is None else data, context=CONTEXT, now=NOW)
    run = Run(step)
    pending_tasks: list[StartTask] = []
    pending_timers: dict[str, datetime] = {}

    def absorb(step: Step) -> None:
        run.step = step
        run.events.extend(step.events)
        for effect in step.effects:
            if isinstance(effect, StartTask):
                run.tasks.append(effect)
                pending_tasks.append(effect)
            elif isinstance(effect, StartTimer):
                run.timers.append(effect)
                pending_timers[effect.timer_id] = effect.due
            elif isinstance(effect, CancelTask):
                run.cancelled.append(effect.task_id)
                pending_tasks[:] = [t for t in pending_tasks if t.task_id != effect.task_id]
            elif isinstance(effect, CancelTimer):
                run.cancelled.append(effect.timer_id)
                pending_timers.pop(effect.timer_id, None)

    absorb(step)
    for _ in range(max_calls):
        if run.step.status != "RUNNING":
            return run
        if pending_tasks:
            task = pending_tasks.pop(0)
            assert tasks is not None, f"unexpected task {task}"
            try:
                completion: Any = TaskSucceeded(task.task_id, tasks(task.resource, task.payload))
            except Failure as failure:
                completion = TaskFailed(task.task_id, failure.error, failure.cause)
        elif pending_timers:
            timer_id = min(pending_timers, key=lambda t: pending_timers[t])
            run.now = max(run.now, pending_timers.pop(timer_id))
            completion = TimerFired(timer_id)
        else:
            raise AssertionError("the execution waits on nothing")
        absorb(advance(roundtrip(run.step.state), [completion], now=run.now))
    raise AssertionError("the execution did not end")


def chain(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition of ``states`` in order, each going to the next, the last one ending."""
    body: dict[str, Any] = {}
    for index, (name, written) in enumerate(states):
        spec = dict(written)
        if spec["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in spec:
            if index + 1 < len(states):
                spec["Next"] = states[index + 1][0]
            else:
                spec["End"] = True
        body[name] = spec
    return {"StartAt": states[0][0], "States": body, **top}
