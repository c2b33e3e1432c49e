"""Start, advance and redrive executions: the face of the interpreter.

An execution is plain JSON data (the snapshot in :attr:`Step.state`), advanced by the
completions the shell feeds back. Each call copies the snapshot it is given once, so the
same snapshot and completions always give the same :class:`Step`; randomness (task tokens,
retry jitter) comes from the seed kept in the snapshot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from dockyard.asl.effects import (
    Completion,
    Step,
    StopRequested,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
)
from dockyard.asl.engine import EXECUTION_TIMER, Engine
from dockyard.asl.history import MAX_DEPTH, MAX_PAYLOAD_BYTES, text_within_depth
from dockyard.asl.snapshot import Threads, copy_snapshot
from dockyard.asl.states.fanout import fill
from dockyard.errors import Conflict, InvalidArgument, PayloadTooLarge

__all__ = ["advance", "redrive", "start"]

SNAPSHOT_VERSION = 1


def start(
    definition: Mapping[str, Any],
    input: Any,
    *,
    context: Mapping[str, Any],
    now: datetime,
    seed: int | str | None = None,
) -> Step:
    """Begin an execution of ``definition`` (already validated) with ``input``.

    ``context`` gives ``$$.Execution`` (Id, Name, StartTime, RoleArn, Input, RedriveCount) and
    ``$$.StateMachine`` (Id, Name). ``seed`` makes task tokens unguessable: pass a secret
    random value (the default derives one from the execution's id and start time).
    """
    text = text_within_depth(input)
    if text is None:
        raise InvalidArgument(
            f"The execution input nests deeper than {MAX_DEPTH} levels", field="input"
        )
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"The execution input is {len(text.encode())} bytes; the limit is "
            f"{MAX_PAYLOAD_BYTES} bytes",
            field="input",
        )
    start_at = definition.get("StartAt")
    if not isinstance(start_at, str) or start_at not in (definition.get("States") or {}):
        raise InvalidArgument("The definition's StartAt names no state", field="StartAt")
    execution = dict(context.get("Execution") or {})
    execution.setdefault("Input", input)
    execution.setdefault("RedriveCount", 0)
    if seed is None:
        seed = hashlib.sha256(
            f"{execution.get('Id')}:{execution.get('StartTime')}".encode()
        ).hexdigest()
    # The definition is shared, never copied: the interpreter only reads it (advance shares
    # the one in the snapshot it is given the same way), and a server keeps one parsed copy of
    # each machine's definition for all its executions.
    snapshot = _json_copy(
        {
            "v": SNAPSHOT_VERSION,
            "context": {
                "Execution": execution,
                "StateMachine": dict(context.get("StateMachine") or {}),
            },
            "seed": seed,
            "seq": 0,
            "events": 0,
            "status": "RUNNING",
            "output": None,
            "error": None,
            "cause": None,
            "redrives": 0,
            "threads": {"": _root(start_at, input)},
            "waits": {},
        }
    )
    snapshot["definition"] = definition
    engine = Engine(snapshot, now)
    details: dict[str, Any] = {"input": text, "inputDetails": {"truncated": False}}
    if execution.get("RoleArn"):
        details["roleArn"] = execution["RoleArn"]
    # the first state's events follow none (AWS: previousEventId 0), nor does this one
    engine.emit(None, "ExecutionStarted", {"executionStartedEventDetails": details}, previous=0)
    _arm_timeout(engine)
    engine.ready.append("")
    engine.run()
    return _step(engine)


def _json_copy(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` through JSON and back: a deep copy that shares nothing with the caller's
    definition and input. orjson where it can (an integer past 64 bits takes the slower way)."""
    try:
        copied: dict[str, Any] = orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:
        copied = json.loads(json.dumps(value))
    return copied


def _root(start_at: str, input: Any) -> dict[str, Any]:
    return {
        "id": "",
        "parent": None,
        "slot": 0,
        "sm": [],
        "at": start_at,
        "input": input,
        "phase": "enter",
        "entered": "",
        "rc": 0,
        "tries": {},
        "vars": {},
        "quiet": False,
        "pe": 0,
    }


def _arm_timeout(engine: Engine) -> None:
    seconds = engine.s["definition"].get("TimeoutSeconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
        root = engine.threads.get("") or _root("", None)
        engine.start_timer(root, EXECUTION_TIMER, float(seconds))


def advance(state: Mapping[str, Any], completions: Sequence[Completion], *, now: datetime) -> Step:
    """Apply ``completions`` in order and run every thread that can run."""
    engine = Engine(_copy(state), now)
    for completion in completions:
        if engine.s["status"] != "RUNNING":
            break
        if isinstance(completion, StopRequested):
            engine.end_execution("ABORTED", completion.error, completion.cause)
        elif isinstance(completion, TimerFired):
            _timer_fired(engine, completion.timer_id)
        elif isinstance(completion, (TaskSucceeded, TaskFailed)):
            _task_done(engine, completion)
        engine.run()
    return _step(engine)


def _task_done(engine: Engine, completion: TaskSucceeded | TaskFailed) -> None:
    entry = engine.waits.get(completion.task_id)
    if entry is None or entry[1] != "task":
        return  # a task already settled, cancelled or unknown: completions are idempotent
    thread = engine.threads[entry[0]]
    spec = engine.spec(thread)
    kind: Any = engine.kind(spec)
    if isinstance(completion, TaskSucceeded):
        engine.resume(thread, lambda t: kind.succeeded(engine, t, spec, completion.output))
    else:
        engine.resume(
            thread, lambda t: kind.failed(engine, t, spec, completion.error, completion.cause)
        )
    engine.run_thread(thread["id"])


def _timer_fired(engine: Engine, timer_id: str) -> None:
    entry = engine.waits.pop(timer_id, None)
    if entry is None:
        return
    if timer_id == EXECUTION_TIMER:
        engine.timed_out()
        return
    thread = engine.threads[entry[0]]
    spec = engine.spec(thread)
    kind: Any = engine.kind(spec)
    if thread["phase"] == "retry":
        engine.resume(thread, lambda t: kind.run(engine, t, spec))
    else:
        engine.resume(thread, lambda t: kind.timer_fired(engine, t, spec))
    engine.run_thread(thread["id"])


def redrive(state: Mapping[str, Any], *, now: datetime) -> Step:
    """Resume a failed, timed-out or aborted execution from the state(s) where it stopped:
    failed and stopped threads re-enter their state; a Map or Parallel runs again only the
    iterations and branches that had not succeeded."""
    engine = Engine(_copy(state), now)
    snapshot = engine.s
    if snapshot["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
        raise Conflict(
            f"Only a failed, timed-out or aborted execution can be redriven; this one is "
            f"{snapshot['status']}",
            field="status",
        )
    if not engine.threads:
        raise Conflict("The execution has nothing left to redrive", field="status")
    snapshot["redrives"] += 1
    execution = snapshot["context"]["Execution"]
    execution["RedriveCount"] = snapshot["redrives"]
    execution["RedriveTime"] = engine.now_text
    snapshot.update(status="RUNNING", error=None, cause=None)
    redriven = engine.emit(
        None,
        "ExecutionRedriven",
        {"executionRedrivenEventDetails": {"redriveCount": snapshot["redrives"]}},
    )
    _arm_timeout(engine)
    fans = []
    for tid in sorted(engine.threads, key=lambda t: (t.count("/"), t)):
        thread = engine.threads[tid]
        thread["pe"] = redriven  # what runs again follows the redrive
        thread.pop("error", None)
        thread.pop("cause", None)
        if "fan" in thread and thread["phase"] in ("failed", "aborted", "fanout"):
            thread["phase"] = "fanout"
            fan = thread["fan"]
            prefix = f"{engine.prefix(thread)}{thread['at']}/"
            for index, mark in enumerate(fan["marks"]):
                if mark in (1, 3):
                    fan["marks"][index] = 1 if f"{prefix}{index}" in engine.threads else 0
            fan["active"] = fan["marks"].count(1)
            fan["done"] = fan["marks"].count(2)
            fan["failed"] = 0
            fan["next"] = 0
            fans.append(thread)
        elif thread["phase"] in ("failed", "aborted"):
            thread["phase"] = "enter"
            engine.ready.append(tid)
    for thread in fans:
        fill(engine, thread)
    engine.run()
    return _step(engine)


def _copy(state: Mapping[str, Any]) -> dict[str, Any]:
    if state.get("v") != SNAPSHOT_VERSION:
        raise InvalidArgument(
            f"The execution snapshot has version {state.get('v')!r}; this interpreter reads "
            f"version {SNAPSHOT_VERSION}",
            field="state",
        )
    return copy_snapshot(state)


def _step(engine: Engine) -> Step:
    snapshot = engine.s
    if isinstance(snapshot["threads"], Threads):
        snapshot["threads"] = snapshot["threads"].plain()
    status = snapshot["status"]
    return Step(
        state=snapshot,
        effects=engine.effects,
        events=engine.events,
        status=status,
        output=snapshot["output"] if status == "SUCCEEDED" else None,
        error=(snapshot["error"] or None) if status != "SUCCEEDED" else None,
        cause=snapshot["cause"] if status != "SUCCEEDED" else None,
    )
