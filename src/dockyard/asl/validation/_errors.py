"""Rules on Retry and Catch: their fields and ranges, and States.ALL alone and last."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dockyard.asl.validation._model import JSONATA, State, error, rule
from dockyard.asl.validation._problems import Problem
from dockyard.asl.validation._syntax import path_problem
from dockyard.asl.validation._values import (
    MAX_SECONDS,
    describe,
    integer_problem,
    number_problem,
    string_problem,
)

# A year and a day: Step Functions' cap on MaxDelaySeconds.
MAX_DELAY_SECONDS = 31_622_400
_RETRIER = {
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
}
_CATCHER_BOTH = {"ErrorEquals", "Next", "Assign", "Comment"}


def _entries(state: State, field: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    value = state.body.get(field)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


@rule("state", "retry-catch-shape")
def retry_catch_shape(state: State) -> Iterator[Problem]:
    for field, what in (("Retry", "retrier"), ("Catch", "catcher")):
        value = state.body.get(field)
        if field not in state.body:
            continue
        if not isinstance(value, list):
            yield error(state.at(field), f"must be an array of {what}s, got {describe(value)}")
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                yield error(state.at(field, index), f"A {what} must be an object")


@rule("state", "error-equals")
def error_equals(state: State) -> Iterator[Problem]:
    for field in ("Retry", "Catch"):
        entries = list(_entries(state, field))
        for index, entry in entries:
            names = entry.get("ErrorEquals")
            where = state.at(field, index, "ErrorEquals")
            if names is None:
                yield error(state.at(field, index), 'These fields are required: ["ErrorEquals"]')
                continue
            if not isinstance(names, list) or not names:
                yield error(where, "must be a non-empty array of error names")
                continue
            for position, name in enumerate(names):
                if problem := string_problem(name, empty=False):
                    yield error(f"{where}/{position}", problem)
            if "States.ALL" in names and len(names) > 1:
                yield error(where, '"States.ALL" must appear alone in ErrorEquals')
            if "States.ALL" in names and index != len(entries) - 1:
                yield error(
                    where,
                    f'The {field} entry with "States.ALL" must be the last one '
                    f"(it is {index + 1} of {len(entries)})",
                )


@rule("state", "retrier-fields")
def retrier_fields(state: State) -> Iterator[Problem]:
    for index, retrier in _entries(state, "Retry"):
        for field in retrier:
            if field not in _RETRIER:
                yield error(
                    state.at("Retry", index, field), f'The field "{field}" is not allowed in Retry'
                )
        checks: dict[str, Callable[[Any], str | None]] = {
            "IntervalSeconds": lambda v: integer_problem(v, minimum=1),
            "MaxAttempts": lambda v: integer_problem(v, minimum=0),
            "BackoffRate": lambda v: number_problem(v, minimum=1.0),
            "MaxDelaySeconds": lambda v: integer_problem(v, minimum=1, maximum=MAX_DELAY_SECONDS),
            "JitterStrategy": lambda v: (
                None if v in ("FULL", "NONE") else f'must be "FULL" or "NONE", got {describe(v)}'
            ),
            "Comment": string_problem,
        }
        for field, check in checks.items():
            if field in retrier and (problem := check(retrier[field])):
                yield error(state.at("Retry", index, field), problem)
        interval = retrier.get("IntervalSeconds", 1)
        delay = retrier.get("MaxDelaySeconds")
        if (
            isinstance(delay, int)
            and isinstance(interval, int)
            and 0 < delay < interval <= MAX_SECONDS
        ):
            yield error(
                state.at("Retry", index, "MaxDelaySeconds"),
                f"MaxDelaySeconds ({delay}) must not be less than IntervalSeconds ({interval})",
            )


@rule("state", "catcher-fields")
def catcher_fields(state: State) -> Iterator[Problem]:
    own = {"Output"} if state.language == JSONATA else {"ResultPath"}
    other = {"ResultPath"} if state.language == JSONATA else {"Output"}
    for index, catcher in _entries(state, "Catch"):
        for field in catcher:
            if field in _CATCHER_BOTH or field in own:
                continue
            reason = (
                f"is not supported for {state.language} states"
                if field in other
                else "is not allowed in Catch"
            )
            yield error(state.at("Catch", index, field), f'The field "{field}" {reason}')
        if "Next" not in catcher:
            yield error(state.at("Catch", index), 'These fields are required: ["Next"]')
        elif problem := string_problem(catcher["Next"], empty=False):
            yield error(state.at("Catch", index, "Next"), problem)
        result_path = catcher.get("ResultPath")
        if (
            "ResultPath" in own
            and result_path is not None
            and (problem := path_problem(result_path, reference=True, context=False))
        ):
            yield error(state.at("Catch", index, "ResultPath"), problem)
