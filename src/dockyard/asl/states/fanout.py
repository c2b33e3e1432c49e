"""Parallel and Map: states that run child threads and gather their outputs in order.

A fanning state keeps ``thread["fan"]``::

    kind   "parallel" | "map"
    n      children in all            next    the next index to launch
    active children running           done    children finished (succeeded or tolerated)
    max    MaxConcurrency (0: all)    failed  failures counted against the tolerance
    marks  per child: 0 waiting, 1 running, 2 succeeded, 3 failed
    res    per child: its output once it succeeded
    items  per child: its input until it is launched (Map)

A child's failure fails the state with the child's error (AWS reports the branch's or
iteration's own error), after the other children are stopped; a Map with a tolerated failure
count or percentage counts failures instead and fails with
``States.ExceedToleratedFailureThreshold`` once past it. A distributed Map (``ProcessorConfig``
``Mode: DISTRIBUTED``) runs its items like an inline one, but as AWS's child executions do, its
iterations write no events into this execution's history (``MapRunStarted`` / ``MapRun...``
instead), so a Map over 10,000 items stays within the 25,000-event limit. ``ItemReader``
(items read from S3) is refused with ``States.Runtime``; ``ResultWriter`` is ignored (the
results are the state's result, as without it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.asl import dataflow
from dockyard.asl.errors import (
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    StatesError,
    runtime,
)
from dockyard.asl.history import MAX_HISTORY_BYTES, json_text, longer_than, text_length
from dockyard.asl.states.task import result_output

if TYPE_CHECKING:
    from dockyard.asl.engine import Engine, Outcome, StateKind

__all__ = [
    "KINDS",
    "MAX_DISTRIBUTED_ITERATIONS",
    "MAX_INLINE_ITERATIONS",
    "MAX_THREADS",
    "child_failed",
    "child_succeeded",
    "fill",
]

#: How many iterations of a Map run at once, at most, whatever its MaxConcurrency (0: no
#: limit of its own). AWS runs up to 40 of an inline Map's at once. Every running iteration
#: is a thread in the execution's snapshot, which each transition reads and writes whole: a
#: Map over 10,000 items, all running, made each of its 10,000 transitions rewrite 3 MB
#: (minutes of the engine's time, spent before any other execution's). A distributed Map,
#: run here as an inline one is, is bounded at 1,000 (AWS: 10,000 child executions).
MAX_INLINE_ITERATIONS = 40
MAX_DISTRIBUTED_ITERATIONS = 1000
#: The threads an execution runs at once, over all its Maps and Parallels: Maps inside Maps
#: multiply (two distributed ones of 1,000 items: a million threads, and a million timers
#: made by one StartExecution). Past it, a fan launches a child only when it has none
#: running, so every one still progresses.
MAX_THREADS = 10_000
#: What a Map may hold at once, as JSON: its items waiting (an ItemSelector may give each a
#: large part of the input, held once but counted for each), and its iterations' results.
MAX_HELD_BYTES = MAX_HISTORY_BYTES


def _count(value: Any, field: str, *, percent: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    if ok and not percent and int(value) != value:
        ok = False
    if not ok or (percent and value > 100):
        what = "a percentage between 0 and 100" if percent else "a non-negative integer"
        raise runtime(f"The {field} value {value!r} is not {what}")
    return float(value)


class Parallel:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if engine.jsonata_mode(spec):
            effective = raw
            if "Arguments" in spec:
                effective = engine.evaluate(spec["Arguments"], thread, "Arguments")
        else:
            context, scope = engine.context(thread), engine.scope(thread)
            effective = dataflow.select(
                spec.get("InputPath", "$"), raw, context=context, variables=scope
            )
            if "Parameters" in spec:
                effective = dataflow.template(
                    spec["Parameters"],
                    effective,
                    context=context,
                    variables=scope,
                    random=engine.random,
                )
        branches = spec.get("Branches") or []
        engine.emit(thread, "ParallelStateStarted", {})
        n = len(branches)
        thread["fan"] = {
            "kind": "parallel",
            "n": n,
            "next": 0,
            "active": 0,
            "done": 0,
            "failed": 0,
            "max": 0,
            "marks": [0] * n,
            "res": [None] * n,
            "input": effective,
        }
        thread["phase"] = "fanout"
        if n == 0:
            return self.gathered(engine, thread, spec)
        fill(engine, thread)
        return None

    def gathered(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        results = thread["fan"]["res"]
        engine.drop_children(thread)
        engine.emit(thread, "ParallelStateSucceeded", {}, moves=False)
        return result_output(engine, thread, spec, results)


class Map:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if "ItemReader" in spec:
            raise runtime(
                "ItemReader (reading the items from S3) is not supported: pass the items in "
                "the state's input"
            )
        jsonata = engine.jsonata_mode(spec)
        context, scope = engine.context(thread), engine.scope(thread)
        if jsonata:
            effective = raw
            items = engine.evaluate(spec["Items"], thread, "Items") if "Items" in spec else raw
        else:
            effective = dataflow.select(
                spec.get("InputPath", "$"), raw, context=context, variables=scope
            )
            items = dataflow.select(
                spec.get("ItemsPath", "$"), effective, context=context, variables=scope
            )
        if not isinstance(items, list):
            given = "Items must evaluate to" if jsonata and "Items" in spec else "input must be"
            raise runtime(f"Map state {given} an array but was: {_json_type(items)}")
        selector = spec.get("ItemSelector", spec.get("Parameters"))
        if selector is None:
            items = list(items)  # launched items are cleared from the list: never the input's
        else:
            items = [
                self._select(engine, thread, selector, effective, index, item, jsonata)
                for index, item in enumerate(items)
            ]
        items = self._batches(engine, thread, spec, effective, items, jsonata)
        if longer_than(items, MAX_HELD_BYTES):
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The Map state '{thread['at']}' has items larger than {MAX_HELD_BYTES} bytes "
                "in all (after its ItemSelector and ItemBatcher), the most it may hold.",
            )
        processor_field = "ItemProcessor" if "ItemProcessor" in spec else "Iterator"
        processor = spec.get(processor_field) or {}
        distributed = (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED"
        limits = {
            field: self._number(engine, thread, spec, field, effective, jsonata)
            for field in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage")
        }
        n = len(items)
        if distributed:
            run_arn = (
                f"{engine.s['context']['Execution'].get('Id', '')}/{thread['at']}:{engine.s['seq']}"
            )
            engine.emit(
                thread, "MapRunStarted", {"mapRunStartedEventDetails": {"mapRunArn": run_arn}}
            )
        else:
            engine.emit(thread, "MapStateStarted", {"mapStateStartedEventDetails": {"length": n}})
        thread["fan"] = {
            "kind": "map",
            "n": n,
            "next": 0,
            "active": 0,
            "done": 0,
            "failed": 0,
            "max": int(_count(limits["MaxConcurrency"] or 0, "MaxConcurrency")),
            "tol": [
                None
                if limits["ToleratedFailureCount"] is None
                else _count(limits["ToleratedFailureCount"], "ToleratedFailureCount"),
                None
                if limits["ToleratedFailurePercentage"] is None
                else _count(
                    limits["ToleratedFailurePercentage"], "ToleratedFailurePercentage", percent=True
                ),
            ],
            "marks": [0] * n,
            "res": [None] * n,
            "items": items,
            "sm": [*thread["sm"], "States", thread["at"], processor_field],
            "quiet": distributed or thread["quiet"],
            "distributed": distributed,
        }
        thread["phase"] = "fanout"
        if n == 0:
            return self.gathered(engine, thread, spec)
        fill(engine, thread)
        return None

    def _select(
        self,
        engine: Engine,
        thread: dict[str, Any],
        selector: Any,
        effective: Any,
        index: int,
        item: Any,
        jsonata: bool,
    ) -> Any:
        context = engine.context(thread, Map={"Item": {"Index": index, "Value": item}})
        if jsonata:
            return engine.evaluate(selector, thread, "ItemSelector", context=context)
        return dataflow.template(
            selector,
            effective,
            context=context,
            variables=engine.scope(thread),
            random=engine.random,
        )

    def _number(
        self,
        engine: Engine,
        thread: dict[str, Any],
        spec: dict[str, Any],
        field: str,
        effective: Any,
        jsonata: bool,
    ) -> Any:
        value = spec.get(field)
        if jsonata and isinstance(value, str):
            return engine.evaluate(value, thread, field)
        if f"{field}Path" in spec:
            context, scope = engine.context(thread), engine.scope(thread)
            return dataflow.select(
                spec[f"{field}Path"], effective, context=context, variables=scope
            )
        return value

    def _batches(
        self,
        engine: Engine,
        thread: dict[str, Any],
        spec: dict[str, Any],
        effective: Any,
        items: list[Any],
        jsonata: bool,
    ) -> list[Any]:
        batcher = spec.get("ItemBatcher")
        if not isinstance(batcher, dict):
            return items
        size = self._number(engine, thread, batcher, "MaxItemsPerBatch", effective, jsonata)
        size = int(_count(size, "MaxItemsPerBatch")) if size is not None else len(items) or 1
        max_bytes = self._number(
            engine, thread, batcher, "MaxInputBytesPerBatch", effective, jsonata
        )
        batch_input = batcher.get("BatchInput")
        if batch_input is not None:
            if jsonata:
                batch_input = engine.evaluate(batch_input, thread, "BatchInput")
            else:
                context, scope = engine.context(thread), engine.scope(thread)
                batch_input = dataflow.template(
                    batch_input, effective, context=context, variables=scope, random=engine.random
                )
        batches: list[Any] = []
        current: list[Any] = []
        current_bytes = 0
        for item in items:
            item_bytes = len(json_text(item).encode()) if max_bytes is not None else 0
            full = len(current) >= max(size, 1) or (
                max_bytes is not None and current and current_bytes + item_bytes > max_bytes
            )
            if full:
                batches.append(current)
                current, current_bytes = [], 0
            current.append(item)
            current_bytes += item_bytes
        if current:
            batches.append(current)
        out: list[Any] = []
        for batch in batches:
            entry: dict[str, Any] = {"Items": batch}
            if batch_input is not None:
                entry = {"BatchInput": batch_input, "Items": batch}
            out.append(entry)
        return out

    def gathered(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        fan = thread["fan"]
        results = fan["res"]
        engine.drop_children(thread)
        if fan.get("distributed"):
            engine.emit(thread, "MapRunSucceeded", {})
        engine.emit(thread, "MapStateSucceeded", {}, moves=False)
        return result_output(engine, thread, spec, results)


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def fill(engine: Engine, thread: dict[str, Any], cause: int | None = None) -> int:
    """Launch waiting children up to MaxConcurrency; returns how many. A child's first event
    follows ``cause`` (the last event of the child whose place it takes), else the state's
    last event (its Started event)."""
    fan = thread["fan"]
    n, marks = fan["n"], fan["marks"]
    limit = fan["max"] or n
    prefix = f"{engine.prefix(thread)}{thread['at']}/"
    is_map = fan["kind"] == "map"
    if is_map:
        bound = MAX_DISTRIBUTED_ITERATIONS if fan.get("distributed") else MAX_INLINE_ITERATIONS
        limit = min(limit, bound)
    quiet = fan.get("quiet", thread["quiet"])
    if is_map:
        sm = fan["sm"]
        start_at = engine.machine(sm)["StartAt"]
    if not quiet and cause is None:
        cause = engine.last_event(thread)
    launched = 0
    while (
        fan["next"] < n
        and fan["active"] < limit
        and (fan["active"] == 0 or len(engine.threads) < MAX_THREADS)
    ):
        index = fan["next"]
        fan["next"] += 1
        if marks[index] != 0:
            continue
        if is_map:
            child_input = fan["items"][index]
            fan["items"][index] = None
            child_sm = sm
        else:
            child_input = fan["input"]
            child_sm = [*thread["sm"], "States", thread["at"], "Branches", index]
            start_at = engine.machine(child_sm)["StartAt"]
        marks[index] = 1
        fan["active"] += 1
        launched += 1
        tid = f"{prefix}{index}"
        engine.threads[tid] = child = {
            "id": tid,
            "parent": thread["id"],
            "slot": index,
            "sm": child_sm,
            "at": start_at,
            "input": child_input,
            "phase": "enter",
            "entered": "",
            "rc": 0,
            "tries": {},
            "vars": {},
            "quiet": quiet,
        }
        if not quiet:
            child["pe"] = cause
            if is_map:
                child["iteration"] = thread["at"]  # MapIterationStarted when it runs
        engine.ready.append(tid)
    return launched


def _iteration_event(
    engine: Engine, thread: dict[str, Any], outcome: str, index: int, last: int
) -> int:
    """Record the iteration's end (it follows the iteration's last event, ``last``, and the
    Map's next event does not follow it); returns its id, 0 for none."""
    fan = thread["fan"]
    if fan["kind"] == "map" and not fan["quiet"]:
        key = f"mapIteration{outcome}EventDetails"
        details = {key: {"name": thread["at"], "index": index}}
        return engine.emit(thread, f"MapIteration{outcome}", details, previous=last, moves=False)
    return 0


def _join(engine: Engine, thread: dict[str, Any], joined: int) -> None:
    """The state's next event follows the later of its own last event and ``joined`` (0:
    nothing to join, the child recorded no event)."""
    if joined:
        thread["pe"] = max(engine.last_event(thread), joined)


def child_succeeded(
    engine: Engine, thread: dict[str, Any], index: int, output: Any, last: int
) -> None:
    """Child ``index`` ended with ``output``; ``last``: its last event's id."""
    fan = thread["fan"]
    if fan["kind"] == "map":  # each result is at most 256 KiB (checked), all of them not
        fan["rb"] = fan.get("rb", 0) + text_length(output, MAX_HELD_BYTES)
        if fan["rb"] > MAX_HELD_BYTES:
            error = StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The Map state '{thread['at']}' gathered results larger than {MAX_HELD_BYTES} "
                "bytes in all, the most it may hold.",
            )
            fan["marks"][index] = 3
            fan["active"] -= 1
            fan["res"] = [None] * fan["n"]  # not kept in the failed execution's state
            engine.abort_children(thread)
            if fan.get("distributed"):
                details = {"error": error.error, "cause": error.cause}
                engine.emit(thread, "MapRunFailed", {"mapRunFailedEventDetails": details})
            engine.emit(thread, "MapStateFailed", {})
            engine.handle_error(thread, error)
            engine.run_thread(thread["id"])
            return
    fan["res"][index] = output
    fan["marks"][index] = 2
    fan["active"] -= 1
    fan["done"] += 1
    if fan.get("quiet", thread["quiet"]):  # its children record no events
        _settle(engine, thread, None, 0)
        return
    ended = _iteration_event(engine, thread, "Succeeded", index, last)
    # A Map's next event follows its iterations' MapIterationSucceeded, a Parallel's its
    # branches' last events; an iteration launched in this one's place follows its last event.
    _settle(engine, thread, last, ended or last)


def _settle(engine: Engine, thread: dict[str, Any], last: int | None, joined: int) -> None:
    fan = thread["fan"]
    if fan["done"] < fan["n"]:
        if not fill(engine, thread, last):
            _join(engine, thread, joined)
        return
    _join(engine, thread, joined)
    kind = engine.kind(engine.spec(thread))
    engine.resume(thread, lambda current: kind.gathered(engine, current, engine.spec(current)))  # type: ignore[attr-defined]
    engine.run_thread(thread["id"])


def child_failed(engine: Engine, thread: dict[str, Any], child: dict[str, Any]) -> None:
    fan = thread["fan"]
    index = child["slot"]
    fan["marks"][index] = 3
    fan["active"] -= 1
    # the state's next event follows the failed child's last one (not MapIterationFailed)
    last: int | None = None
    if not fan.get("quiet", thread["quiet"]):
        last = engine.last_event(child)
        _iteration_event(engine, thread, "Failed", index, last)
    tolerance = fan.get("tol") or [None, None]
    if tolerance != [None, None]:
        fan["failed"] += 1
        over_count = tolerance[0] is not None and fan["failed"] > tolerance[0]
        over_percent = tolerance[1] is not None and fan["failed"] * 100 / fan["n"] > tolerance[1]
        if not (over_count or over_percent):
            fan["res"][index] = {"Error": child["error"], "Cause": child["cause"]}
            fan["done"] += 1
            _settle(engine, thread, last, last or 0)
            return
        error = StatesError(
            EXCEED_TOLERATED_FAILURE_THRESHOLD,
            "The specified tolerated failure threshold was exceeded",
        )
    else:
        error = StatesError(child["error"], child["cause"], relayed=True)
    if last is not None:
        prefix = f"{engine.prefix(thread)}{thread['at']}/"
        for other, mark in enumerate(fan["marks"]):
            if mark == 1 and fan["kind"] == "map":
                running = engine.threads.get(f"{prefix}{other}")
                after = engine.last_event(thread if running is None else running)
                _iteration_event(engine, thread, "Aborted", other, after)
        _join(engine, thread, last)
    engine.abort_children(thread)
    kind = "Map" if fan["kind"] == "map" else "Parallel"
    if fan.get("distributed"):
        details = {"error": error.error, "cause": error.cause}
        engine.emit(thread, "MapRunFailed", {"mapRunFailedEventDetails": details})
    if not engine.retries(thread, error):  # as AWS: Failed only once no retry is left
        engine.emit(thread, f"{kind}StateFailed", {})
        engine.handle_error(thread, error)
    engine.run_thread(thread["id"])


KINDS: dict[str, StateKind] = {"Parallel": Parallel(), "Map": Map()}
