"""The interpreter's machinery: threads of control over one mutable snapshot.

An execution is a set of *threads*, each walking one state machine (the top level, a Parallel
branch, a Map iteration) and kept in ``snapshot["threads"]`` under ids that read as paths::

    ""            the top level
    "Fan/3"       iteration 3 of the Map (or branch 3 of the Parallel) state "Fan"
    "Fan/3/In/0"  nested inside it

A thread is in one phase: ``enter`` (about to run its state), ``task`` / ``wait`` /
``retry`` (waiting on an effect, listed in ``snapshot["waits"]``), ``fanout`` (waiting on its
children), ``failed`` / ``aborted`` (kept for redrive). A finished thread hands its output to
its parent and is deleted, so the snapshot holds only what is needed to resume.

Each thread keeps ``pe``, the id of its last event: its next event names it as the event that
led to it (``previousEventId``), as AWS records them, so interleaved branches and iterations
each link their own events. A branch or iteration starts from its state's Started event (or
from the last event of the iteration whose place it takes); when it ends, its state's next
event follows whichever is later, the state's own last event or the branch's (an iteration's
MapIterationSucceeded); see ``states/fanout.py``.

One call (``start``, ``advance``, ``redrive``) copies the snapshot once, runs every thread
that can run (whole Pass chains, whole Maps of Pass states) and returns the new snapshot with
the effects and history events it produced. Nothing here reads the clock: ``now`` is given.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from random import Random
from typing import Any, Protocol

from dockyard.asl import dataflow
from dockyard.asl.effects import CancelTask, CancelTimer, Effect, StartTimer
from dockyard.asl.errors import (
    DATA_LIMIT_EXCEEDED,
    RUNTIME,
    TIMEOUT,
    StatesError,
    decorated,
    runtime,
)
from dockyard.asl.expressions import jsonata
from dockyard.asl.history import (
    MAX_EVENTS,
    MAX_HISTORY_BYTES,
    MAX_PAYLOAD_BYTES,
    HistoryEvent,
    checked_text,
    context_time,
    json_text,
    longer_than,
)
from dockyard.asl.retry import delay_seconds, error_matches
from dockyard.asl.snapshot import Threads

__all__ = ["Engine", "Outcome", "Scope", "StateKind"]

# What a state's code returns: ("next", state name, output), ("end", output), or None when
# the thread now waits on an effect or on its children.
Outcome = tuple[Any, ...] | None

EXECUTION_TIMER = "execution:timeout"


class StateKind(Protocol):
    """The code of one state type (``states/``)."""

    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        """Run the state (after its Entered event), or one more attempt after a retry."""
        ...


class Scope(Mapping[str, Any]):
    """A thread's variables: its own, then its parents' (inner scopes read outer ones)."""

    __slots__ = ("_chain",)

    def __init__(self, chain: list[dict[str, Any]]) -> None:
        self._chain = chain

    def __getitem__(self, name: str) -> Any:
        for variables in self._chain:
            if name in variables:
                return variables[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for variables in self._chain:
            for name in variables:
                if name not in seen:
                    seen.add(name)
                    yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _text_size(details: Mapping[str, Any]) -> int:
    """The characters of the text in an event's details (payloads as JSON text, errors,
    causes): a few small dicts, nested two or three levels."""
    total = 0
    for value in details.values():
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += _text_size(value)
    return total


def checked_assignment(assigned: Mapping[str, Any] | None, state: str) -> None:
    """``States.DataLimitExceeded`` when the variables a state assigns are together larger than
    a state's data may be (256 KiB; AWS's limit of one Assign, and so of each variable). A
    variable kept across states could otherwise grow without end: assigned an array of
    itself in a loop, it doubles each time round."""
    if not assigned or not longer_than(assigned, MAX_PAYLOAD_BYTES):
        return
    for name, value in assigned.items():
        if longer_than(value, MAX_PAYLOAD_BYTES):
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The state '{state}' assigned the variable '{name}' a value larger than the "
                f"maximum number of bytes service limit ({MAX_PAYLOAD_BYTES} bytes).",
            )
    raise StatesError(
        DATA_LIMIT_EXCEEDED,
        f"The state '{state}' assigned variables larger together than the maximum number of "
        f"bytes service limit ({MAX_PAYLOAD_BYTES} bytes).",
    )


class Engine:
    def __init__(self, snapshot: dict[str, Any], now: datetime) -> None:
        self.s = snapshot
        self.now = now
        self.now_text = context_time(now)
        threads = snapshot["threads"]
        if not isinstance(threads, Threads):
            threads = snapshot["threads"] = Threads(threads)
        self.threads: Threads = threads
        self.waits: dict[str, list[str]] = snapshot["waits"]
        self.effects: list[Effect] = []
        self.events: list[HistoryEvent] = []
        self.ready: deque[str] = deque()
        self._machines: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._overflow: str | None = None  # why the history can take no more events
        # randomness (States.UUID, $random(), retry jitter) from the seed: a replay repeats it
        self._seeded = f"{snapshot['seed']}:{snapshot['seq']}:{snapshot['events']}"

    @functools.cached_property
    def random(self) -> Random:
        """The step's generator, seeded as the step began (made when first used: seeding costs
        more than most steps that draw nothing)."""
        return Random(self._seeded)

    # -- definitions ---------------------------------------------------------------------

    def machine(self, where: list[Any]) -> dict[str, Any]:
        """The state machine (top level, branch or item processor) at ``where``."""
        key = tuple(where)
        found = self._machines.get(key)
        if found is None:
            found = self.s["definition"]
            for step in where:
                found = found[step]
            self._machines[key] = found
        return found

    def spec(self, thread: dict[str, Any]) -> dict[str, Any]:
        states = self.machine(thread["sm"])["States"]
        spec = states.get(thread["at"])
        if not isinstance(spec, dict):
            raise runtime(f"The state '{thread['at']}' is not defined")
        return spec

    def jsonata_mode(self, spec: Mapping[str, Any]) -> bool:
        language = spec.get("QueryLanguage") or self.s["definition"].get("QueryLanguage")
        return bool(language == "JSONata")

    # -- scopes and context ----------------------------------------------------------------

    def scope(self, thread: dict[str, Any]) -> Scope:
        chain = [thread["vars"]]
        parent = thread["parent"]
        while parent is not None:
            above = self.threads[parent]
            chain.append(above["vars"])
            parent = above["parent"]
        return Scope(chain)

    def context(self, thread: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """The context object ``$$`` as the thread's current state sees it."""
        base = self.s["context"]
        context = {
            "Execution": base["Execution"],
            "StateMachine": base["StateMachine"],
            "State": {
                "EnteredTime": thread["entered"],
                "Name": thread["at"],
                "RetryCount": thread["rc"],
            },
        }
        context.update(extra)
        return context

    def bindings(self, thread: dict[str, Any], **states: Any) -> dict[str, Any]:
        """JSONata's variables: ``$states`` (input, context, result...) and the workflow's."""
        out = dict(self.scope(thread))
        out["states"] = {"input": thread["input"], "context": self.context(thread), **states}
        return out

    def evaluate(self, template: Any, thread: dict[str, Any], field: str, **states: Any) -> Any:
        return jsonata(
            template, self.bindings(thread, **states), field=field, random=self.random, now=self.now
        )

    # -- effects and events ----------------------------------------------------------------

    def next_seq(self) -> int:
        self.s["seq"] += 1
        return int(self.s["seq"])

    def prefix(self, thread: dict[str, Any]) -> str:
        return f"{thread['id']}/" if thread["id"] else ""

    def last_event(self, thread: dict[str, Any]) -> int:
        """The id of the event the thread's next one follows (``pe``; a thread of a snapshot
        written before threads kept it follows the execution's last event)."""
        found = thread.get("pe")
        return int(self.s["events"] if found is None else found)

    def emit(
        self,
        thread: dict[str, Any] | None,
        kind: str,
        details: dict[str, Any],
        *,
        previous: int | None = None,
        moves: bool = True,
    ) -> int:
        """Record an event of ``thread`` (None: of the execution itself); returns its id, 0
        when it is not recorded (a quiet thread, the history full).

        Its ``previousEventId`` is ``previous`` or else the thread's last event (the
        execution's last event for the execution's own events). ``moves``: the thread's next
        event follows this one (AWS's ``MapStateSucceeded`` and ``ParallelStateSucceeded``
        do not move it: the state's Exited event follows what the Succeeded one follows)."""
        snapshot = self.s
        last: int = snapshot["events"]
        if thread is not None:
            if thread["quiet"]:
                return 0
            if last >= MAX_EVENTS - 1:  # the last one is for ExecutionFailed
                self._overflow = (
                    f"The execution reached the maximum number of history events ({MAX_EVENTS})."
                )
                return 0
            held = snapshot.get("hb", 0) + _text_size(details)
            if held > MAX_HISTORY_BYTES:
                self._overflow = (
                    "The execution's history reached the maximum size of its payloads "
                    f"({MAX_HISTORY_BYTES} bytes in all)."
                )
                return 0
            snapshot["hb"] = held
            if previous is None:
                # (a thread of a snapshot written before threads kept "pe": the last event)
                previous = thread.get("pe", last)
            if moves:
                thread["pe"] = last + 1
        elif previous is None:
            previous = last
        event_id = snapshot["events"] = last + 1
        self.events.append(HistoryEvent(kind, details, self.now, previous))
        return event_id

    def wait_on(self, thread: dict[str, Any], effect_id: str, kind: str) -> None:
        self.waits[effect_id] = [thread["id"], kind]

    def start_timer(self, thread: dict[str, Any], timer_id: str, seconds: float) -> None:
        self.effects.append(StartTimer(timer_id, self.now + timedelta(seconds=seconds)))
        self.wait_on(thread, timer_id, "timer")

    def cancel(self, effect_id: str) -> None:
        entry = self.waits.pop(effect_id, None)
        if entry is None:
            return
        if entry[1] == "task":
            self.effects.append(CancelTask(effect_id))
        else:
            self.effects.append(CancelTimer(effect_id))

    def token(self, task_id: str) -> str:
        """A task token: unguessable without the execution's seed, stable for the task."""
        return hashlib.sha256(f"{self.s['seed']}:token:{task_id}".encode()).hexdigest()

    # -- running -----------------------------------------------------------------------------

    def kind(self, spec: Mapping[str, Any]) -> StateKind:
        name = str(spec.get("Type"))
        found = _LOADED.get(name)
        if found is None:
            module = _KINDS.get(name)
            if module is None:
                raise runtime(f"Unknown state type '{name}'")
            found = _LOADED[name] = importlib.import_module(module).KINDS[name]
        return found

    def run(self) -> None:
        while self.ready and self.s["status"] == "RUNNING":
            if self._overflow:
                break
            self.run_thread(self.ready.popleft())
        if self._overflow and self.s["status"] == "RUNNING":
            self.end_execution("FAILED", RUNTIME, self._overflow)
            # A full history takes no more events: a redrive could not run. Its threads would
            # only be written with the failed execution, however much data they hold (the
            # branches of a Parallel each holding the execution's input).
            self.threads.clear()

    def run_thread(self, tid: str) -> None:
        """Run the thread's states until it waits, ends or fails."""
        while self.s["status"] == "RUNNING" and not self._overflow:
            thread = self.threads.get(tid)
            if thread is None or thread["phase"] != "enter":
                return
            if "iteration" in thread:  # a Map iteration's first step: it starts now
                details = {"name": thread.pop("iteration"), "index": thread["slot"]}
                self.emit(
                    thread, "MapIterationStarted", {"mapIterationStartedEventDetails": details}
                )
            self.resume(thread, self._enter)

    def _enter(self, thread: dict[str, Any]) -> Outcome:
        spec = self.spec(thread)
        thread["entered"] = self.now_text
        thread["rc"] = 0
        thread["tries"] = {}
        if not thread["quiet"]:  # a quiet thread's input is an item of a checked input
            self.emit(
                thread,
                f"{spec['Type']}StateEntered",
                {
                    "stateEnteredEventDetails": {
                        "name": thread["at"],
                        "input": checked_text(thread["input"], thread["at"]),
                        "inputDetails": {"truncated": False},
                    }
                },
            )
            thread["eid"] = self.s["events"]
        return self.kind(spec).run(self, thread, spec)

    def resume(self, thread: dict[str, Any], step: Any, *args: Any) -> None:
        """Call ``step(thread, *args)`` and act on its outcome or error; a thread that moves on
        keeps running in ``run_thread``'s loop (or is queued when resumed from outside)."""
        try:
            outcome = step(thread, *args)
        except StatesError as error:
            self.handle_error(thread, error)
            return
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # a definition that validation would refuse, or a result that is not JSON: the
            # execution fails saying so rather than the caller crashing
            self.handle_error(
                thread, runtime(f"The state could not be run: {type(exc).__name__}: {exc}")
            )
            return
        self.apply(thread, outcome)

    def apply(self, thread: dict[str, Any], outcome: Outcome) -> None:
        if outcome is None:
            return
        if outcome[0] == "next":
            thread["at"] = outcome[1]
            thread["input"] = outcome[2]
            thread["phase"] = "enter"
        else:
            self.finish(thread, outcome[1])

    def exit_state(
        self,
        thread: dict[str, Any],
        spec: Mapping[str, Any],
        output: Any,
        assigned: dict[str, Any] | None = None,
        *,
        next_state: str | None = None,
    ) -> Outcome:
        """Leave the state with ``output``: assign variables, record Exited, go on."""
        text = checked_text(output, thread["at"])
        checked_assignment(assigned, thread["at"])
        self._exited(thread, spec, text, assigned)
        target = next_state or spec.get("Next")
        if spec.get("End") or spec.get("Type") in ("Succeed",) or target is None:
            return ("end", output)
        return ("next", target, output)

    def _exited(
        self,
        thread: dict[str, Any],
        spec: Mapping[str, Any],
        text: str,
        assigned: dict[str, Any] | None,
    ) -> None:
        """Assign ``assigned`` and record the state's Exited event with output ``text``."""
        details: dict[str, Any] = {
            "name": thread["at"],
            "output": text,
            "outputDetails": {"truncated": False},
        }
        if assigned:
            thread["vars"].update(assigned)
            if not thread["quiet"]:
                details["assignedVariables"] = {k: json_text(v) for k, v in assigned.items()}
                details["assignedVariablesDetails"] = {"truncated": False}
        self.emit(thread, f"{spec['Type']}StateExited", {"stateExitedEventDetails": details})

    # -- errors ------------------------------------------------------------------------------

    def decorate(self, thread: dict[str, Any], error: StatesError) -> tuple[str, str | None]:
        cause: str | None = error.cause
        if decorated(error):
            cause = (
                f"An error occurred while executing the state '{thread['at']}' "
                f"(entered at the event id #{thread.get('eid', 0)}). {cause}"
            )
        return error.error, cause

    def handle_error(self, thread: dict[str, Any], error: StatesError) -> None:
        """Retry, then Catch, then fail the thread, as the state's fields say."""
        name, cause = self.decorate(thread, error)
        try:
            spec = self.spec(thread)
        except StatesError:
            spec = {}
        if spec.get("Type") in ("Task", "Parallel", "Map"):
            if self._retry(thread, spec, name, task=error.task):
                return
            if self._catch(thread, spec, name, cause, task=error.task):
                return
        self.fail_thread(thread, name, cause)

    def retries(self, thread: dict[str, Any], error: StatesError) -> bool:
        """Whether a retrier of the thread's Parallel or Map state took ``error`` (the state
        then runs again after its interval, and records no Failed event for this attempt)."""
        spec = self.spec(thread)
        return spec.get("Type") in ("Parallel", "Map") and self._retry(
            thread, spec, self.decorate(thread, error)[0]
        )

    def _retry(
        self, thread: dict[str, Any], spec: Mapping[str, Any], error: str, *, task: bool = False
    ) -> bool:
        for index, retrier in enumerate(spec.get("Retry") or ()):
            if not error_matches(retrier.get("ErrorEquals", ()), error, task=task):
                continue
            done = int(thread["tries"].get(str(index), 0))
            if done >= int(retrier.get("MaxAttempts", 3)):
                return False
            self.drop_children(thread)
            thread["tries"][str(index)] = done + 1
            thread["rc"] += 1
            timer_id = f"{self.prefix(thread)}{thread['at']}#{self.next_seq()}:retry"
            seconds = delay_seconds(retrier, done, seed=self.s["seed"], salt=timer_id)
            thread["phase"] = "retry"
            thread["wait"] = timer_id
            self.start_timer(thread, timer_id, seconds)
            return True
        return False

    def _catch(
        self,
        thread: dict[str, Any],
        spec: Mapping[str, Any],
        error: str,
        cause: str | None,
        *,
        task: bool = False,
    ) -> bool:
        for catcher in spec.get("Catch") or ():
            if not error_matches(catcher.get("ErrorEquals", ()), error, task=task):
                continue
            self.drop_children(thread)
            error_output = {"Error": error, "Cause": cause}
            try:
                if self.jsonata_mode(spec):
                    output = error_output
                    if "Output" in catcher:
                        output = self.evaluate(
                            catcher["Output"], thread, "Output", errorOutput=error_output
                        )
                    assigned = self.evaluate(
                        catcher.get("Assign") or {}, thread, "Assign", errorOutput=error_output
                    )
                else:
                    context, scope = self.context(thread), self.scope(thread)
                    assigned = dataflow.assign(
                        catcher.get("Assign") or {},
                        error_output,
                        context=context,
                        variables=scope,
                        random=self.random,
                    )
                    output = dataflow.result_path(catcher, thread["input"], error_output)
                text = checked_text(output, thread["at"])
                checked_assignment(assigned, thread["at"])
            except StatesError as failure:
                self.fail_thread(thread, *self.decorate(thread, failure))
                return True
            # Caught, the state is left as AWS records it: Exited with the catcher's output.
            self._exited(thread, spec, text, assigned)
            thread["at"] = catcher["Next"]
            thread["input"] = output
            thread["phase"] = "enter"
            return True
        return False

    def fail_thread(self, thread: dict[str, Any], error: str, cause: str | None) -> None:
        thread["phase"] = "failed"
        thread["error"] = error
        thread["cause"] = cause
        parent = thread["parent"]
        if parent is None:
            self.end_execution("FAILED", error, cause)
            return
        fanout = importlib.import_module("dockyard.asl.states.fanout")
        fanout.child_failed(self, self.threads[parent], thread)

    def finish(self, thread: dict[str, Any], output: Any) -> None:
        parent = thread["parent"]
        last = self.last_event(thread)
        if parent is None:
            self.s["status"] = "SUCCEEDED"
            self.s["output"] = output
            self.threads.clear()
            self.cancel(EXECUTION_TIMER)
            self.emit(
                None,
                "ExecutionSucceeded",
                {
                    "executionSucceededEventDetails": {
                        "output": json_text(output),
                        "outputDetails": {"truncated": False},
                    }
                },
                previous=last,
            )
            return
        del self.threads[thread["id"]]
        fanout = importlib.import_module("dockyard.asl.states.fanout")
        fanout.child_succeeded(self, self.threads[parent], thread["slot"], output, last)

    # -- subtrees and the end ------------------------------------------------------------

    def subtree(self, thread: dict[str, Any]) -> list[str]:
        """Ids of the thread's descendants."""
        if not thread["id"]:
            return [tid for tid in self.threads if tid]
        prefix = thread["id"] + "/"
        return [tid for tid in self.threads if tid.startswith(prefix)]

    def abort_children(self, thread: dict[str, Any]) -> None:
        """Stop the thread's running descendants, keeping them (aborted) for a redrive."""
        inside = set(self.subtree(thread))
        for effect_id, (tid, _kind) in list(self.waits.items()):
            if tid in inside:
                self.cancel(effect_id)
        for tid in inside:
            child = self.threads[tid]
            if child["phase"] in ("enter", "task", "wait", "retry"):
                child["phase"] = "aborted"

    def drop_children(self, thread: dict[str, Any]) -> None:
        """Forget the thread's descendants and fan-out (its state is done with them)."""
        self.abort_children(thread)
        for tid in self.subtree(thread):
            del self.threads[tid]
        thread.pop("fan", None)

    def end_execution(self, status: str, error: str | None, cause: str | None) -> None:
        """Fail, abort or time out the execution: cancel everything outstanding."""
        self.s["status"] = status
        self.s["error"] = error
        self.s["cause"] = cause
        if status != "FAILED":  # stopped or timed out: the states still running say so
            for thread in sorted(self.threads.owned_values(), key=lambda t: -t["id"].count("/")):
                if thread["phase"] in ("task", "wait", "retry", "fanout"):
                    with contextlib.suppress(StatesError):
                        self.emit(thread, f"{self.spec(thread)['Type']}StateAborted", {})
        for effect_id in list(self.waits):
            self.cancel(effect_id)
        for thread in self.threads.owned_values():
            if thread["phase"] in ("enter", "task", "wait", "retry"):
                thread["phase"] = "aborted"
        self.ready.clear()
        kind = {
            "FAILED": "ExecutionFailed",
            "ABORTED": "ExecutionAborted",
            "TIMED_OUT": "ExecutionTimedOut",
        }[status]
        details: dict[str, Any] = {}
        if error:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        key = kind[0].lower() + kind[1:] + "EventDetails"
        # it follows the top level's last event (its Fail state, its failed Task, its aborted
        # state), not whichever branch or iteration happened to record the last one
        root = self.threads.get("")
        self.emit(
            None, kind, {key: details}, previous=None if root is None else self.last_event(root)
        )

    def timed_out(self) -> None:
        self.end_execution(
            "TIMED_OUT", TIMEOUT, "The execution ran longer than its TimeoutSeconds."
        )


_LOADED: dict[str, StateKind] = {}
_KINDS = {
    "Pass": "dockyard.asl.states.simple",
    "Choice": "dockyard.asl.states.simple",
    "Wait": "dockyard.asl.states.simple",
    "Succeed": "dockyard.asl.states.simple",
    "Fail": "dockyard.asl.states.simple",
    "Task": "dockyard.asl.states.task",
    "Parallel": "dockyard.asl.states.fanout",
    "Map": "dockyard.asl.states.fanout",
}
