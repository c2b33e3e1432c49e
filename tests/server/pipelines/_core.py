"""A stand-in for the States Language core, for shell-level unit tests only: Pass, Task (with
Catch), Wait, Succeed and Fail, one branch, with the contract's shapes. The end-to-end tests use
the real core; this one lets the engine's own rules (one transaction per step, a task claimed
once, timers, callbacks, stop, redrive) be tested on their own."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class StartTask:
    task_id: str
    state_name: str
    resource: str
    payload: Any
    timeout_s: float | None = None
    heartbeat_s: float | None = None
    task_token: str | None = None


@dataclass(frozen=True)
class CancelTask:
    task_id: str


@dataclass(frozen=True)
class StartTimer:
    timer_id: str
    due: datetime


@dataclass(frozen=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True)
class TaskSucceeded:
    task_id: str
    output: Any


@dataclass(frozen=True)
class TaskFailed:
    task_id: str
    error: str
    cause: str | None


@dataclass(frozen=True)
class TimerFired:
    timer_id: str


@dataclass(frozen=True)
class StopRequested:
    error: str | None
    cause: str | None


@dataclass(frozen=True)
class HistoryEvent:
    type: str
    details: dict[str, Any]
    timestamp: datetime


@dataclass
class Step:
    state: dict[str, Any]
    effects: list[Any] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    status: str = "RUNNING"
    output: Any | None = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    code: str = "SCHEMA_VALIDATION_FAILED"
    severity: str = "ERROR"


class StandInCore:
    """:class:`dockyard.server.pipelines._core.Core`, small (see the module docstring)."""

    def validate(self, definition: Mapping[str, Any]) -> list[Problem]:
        states = definition.get("States")
        if not isinstance(states, Mapping) or definition.get("StartAt") not in states:
            return [Problem("/StartAt", "StartAt must name a state")]
        return [
            Problem(f"/States/{n}/Next", f"Next names no state: {s['Next']!r}")
            for n, s in states.items()
            if "Next" in s and s["Next"] not in states
        ]

    def parse(self, text: str) -> dict[str, Any]:
        from dockyard.errors import InvalidArgument

        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(parsed, dict):
            raise InvalidArgument("a definition is a JSON object")
        return parsed

    def task_succeeded(self, task_id: str, output: Any) -> Any:
        return TaskSucceeded(task_id, output)

    def task_failed(self, task_id: str, error: str, cause: str | None) -> Any:
        return TaskFailed(task_id, error, cause)

    def timer_fired(self, timer_id: str) -> Any:
        return TimerFired(timer_id)

    def stop_requested(self, error: str | None, cause: str | None) -> Any:
        return StopRequested(error, cause)

    # -- the interpreter ------------------------------------------------------------------------

    def start(
        self,
        definition: Mapping[str, Any],
        input: Any,
        *,
        context: Mapping[str, Any],
        now: datetime,
        seed: str = "",
    ) -> Step:
        state = {
            "definition": dict(definition),
            "current": definition["StartAt"],
            "data": input,
            "wait": None,
            "n": 0,
            "arn": context["Execution"]["Id"],
        }
        step = Step(state)
        step.events.append(
            HistoryEvent(
                "ExecutionStarted",
                {"executionStartedEventDetails": {"input": json.dumps(input)}},
                now,
            )
        )
        return self._run(step, now)

    def advance(
        self, state: Mapping[str, Any], completions: Sequence[Any], *, now: datetime
    ) -> Step:
        step = Step(copy.deepcopy(dict(state)))
        s = step.state
        for done in completions:
            wait = s["wait"]
            if isinstance(done, StopRequested):
                if wait and wait[0] == "task":
                    step.effects.append(CancelTask(wait[1]))
                if wait and wait[0] == "timer":
                    step.effects.append(CancelTimer(wait[1]))
                s["wait"] = None
                step.events.append(HistoryEvent("ExecutionAborted", {}, now))
                return self._end(step, "ABORTED", error=done.error, cause=done.cause)
            if wait is None or wait[1] != getattr(done, "task_id", getattr(done, "timer_id", None)):
                continue
            s["wait"] = None
            spec = s["definition"]["States"][s["current"]]
            if isinstance(done, TaskFailed):
                step.events.append(
                    HistoryEvent(
                        "TaskFailed",
                        {"taskFailedEventDetails": {"error": done.error, "cause": done.cause}},
                        now,
                    )
                )
                catch = next(
                    (
                        c
                        for c in spec.get("Catch", [])
                        if {"States.ALL", done.error} & set(c["ErrorEquals"])
                    ),
                    None,
                )
                if catch is None:
                    step.events.append(HistoryEvent("ExecutionFailed", {}, now))
                    return self._end(step, "FAILED", error=done.error, cause=done.cause)
                s["data"] = {"Error": done.error, "Cause": done.cause}
                s["current"] = catch["Next"]
            else:
                if isinstance(done, TaskSucceeded):
                    step.events.append(
                        HistoryEvent(
                            "TaskSucceeded",
                            {"taskSucceededEventDetails": {"output": json.dumps(done.output)}},
                            now,
                        )
                    )
                    s["data"] = done.output
                if not self._next(step, spec, now):
                    return step
        return self._run(step, now)

    def redrive(self, state: Mapping[str, Any], *, now: datetime) -> Step:
        step = Step(copy.deepcopy(dict(state)))
        step.events.append(HistoryEvent("ExecutionRedriven", {}, now))
        return self._run(step, now)

    def _end(self, step: Step, status: str, **fields: Any) -> Step:
        step.status = status
        step.state["status"] = status
        step.error, step.cause = fields.get("error"), fields.get("cause")
        step.output = fields.get("output")
        return step

    def _next(self, step: Step, spec: Mapping[str, Any], now: datetime) -> bool:
        if spec.get("End"):
            step.events.append(HistoryEvent("ExecutionSucceeded", {}, now))
            self._end(step, "SUCCEEDED", output=step.state["data"])
            return False
        step.state["current"] = spec["Next"]
        return True

    def _run(self, step: Step, now: datetime) -> Step:
        s = step.state
        while step.status == "RUNNING" and s["wait"] is None:
            name = s["current"]
            spec = s["definition"]["States"][name]
            kind = spec["Type"]
            step.events.append(
                HistoryEvent(
                    f"{kind}StateEntered", {"stateEnteredEventDetails": {"name": name}}, now
                )
            )
            s["n"] += 1
            if kind == "Pass":
                s["data"] = spec.get("Result", s["data"])
            elif kind == "Task":
                task_id = f"{name}#{s['n']}"
                token = (
                    f"{s['arn']}/{task_id}"
                    if spec["Resource"].endswith(".waitForTaskToken")
                    else None
                )
                payload = spec.get("Parameters", s["data"])
                if token is not None:
                    payload = json.loads(
                        json.dumps(payload).replace('"$$.Task.Token"', json.dumps(token))
                    )
                step.effects.append(
                    StartTask(
                        task_id,
                        name,
                        spec["Resource"],
                        payload,
                        spec.get("TimeoutSeconds"),
                        spec.get("HeartbeatSeconds"),
                        token,
                    )
                )
                step.events.append(HistoryEvent("TaskScheduled", {}, now))
                s["wait"] = ["task", task_id]
                return step
            elif kind == "Wait":
                timer_id = f"{name}#{s['n']}"
                step.effects.append(StartTimer(timer_id, now + timedelta(seconds=spec["Seconds"])))
                s["wait"] = ["timer", timer_id]
                return step
            elif kind == "Succeed":
                step.events.append(HistoryEvent("ExecutionSucceeded", {}, now))
                return self._end(step, "SUCCEEDED", output=s["data"])
            elif kind == "Fail":
                step.events.append(HistoryEvent("ExecutionFailed", {}, now))
                return self._end(step, "FAILED", error=spec.get("Error"), cause=spec.get("Cause"))
            if not self._next(step, spec, now):
                return step
        return step
