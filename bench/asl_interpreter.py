"""The interpreter's cost on its two big cases: a 1,000-state Pass chain and a Map over
10,000 Pass items, each in one ``start`` call (``python bench/asl_interpreter.py``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from dockyard.asl import TaskSucceeded, advance, start

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONTEXT = {
    "Execution": {"Id": "bench", "Name": "bench"},
    "StateMachine": {"Id": "sm", "Name": "sm"},
}


def chain(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {
        f"S{i}": {"Type": "Pass", "Result": {"i": i}, "ResultPath": "$.last", "Next": f"S{i + 1}"}
        for i in range(n)
    }
    states[f"S{n - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def fan(mode: str) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": mode},
        "StartAt": "Double",
        "States": {"Double": {"Type": "Pass", "Parameters": {"v.$": "$.n"}, "End": True}},
    }
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True}
        },
    }


def timed(label: str, definition: dict[str, Any], data: Any) -> None:
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        step = start(definition, data, context=CONTEXT, now=NOW)
        best = min(best, time.perf_counter() - began)
    print(f"{label:<44} {best * 1000:8.1f} ms  {step.status:<10} {len(step.events)} events")


def settle_one_of_many(n: int) -> None:
    """A distributed Map waiting on ``n`` tasks: the cost of settling one of them."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "dockyard:score", "End": True}},
    }
    definition = {
        "StartAt": "Fan",
        "States": {"Fan": {"Type": "Map", "ItemProcessor": processor, "End": True}},
    }
    step = start(definition, list(range(n)), context=CONTEXT, now=NOW)
    first = step.effects[0]
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        advance(step.state, [TaskSucceeded(first.task_id, 1)], now=NOW)  # type: ignore[union-attr]
        best = min(best, time.perf_counter() - began)
    print(f"{'settle 1 task of a Map waiting on ' + format(n, ','):<44} {best * 1000:8.1f} ms")


if __name__ == "__main__":
    items = {"items": [{"n": i} for i in range(10_000)]}
    timed("1,000-state Pass chain", chain(1000), {"x": 1})
    timed("Map over 10,000 Pass items (DISTRIBUTED)", fan("DISTRIBUTED"), items)
    timed("Map over 10,000 Pass items (INLINE)", fan("INLINE"), items)
    timed("Map over 6,000 Pass items (INLINE)", fan("INLINE"), {"items": items["items"][:6000]})
    settle_one_of_many(10_000)
