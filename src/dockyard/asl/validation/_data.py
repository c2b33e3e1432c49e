"""Rules on data flow: InputPath, OutputPath and ResultPath; ``.$`` fields of payload
templates (a JSONPath or an intrinsic call); Assign's variable names; JSONata expressions
that do not parse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dockyard.asl.intrinsics import is_intrinsic
from dockyard.asl.validation._model import (
    JSONATA,
    JSONPATH,
    PATH_TWINS,
    State,
    error,
    rule,
    warning,
)
from dockyard.asl.validation._problems import NO_DOLLAR, NO_PATH, Problem
from dockyard.asl.validation._syntax import (
    jsonata_problem,
    path_or_intrinsic_problem,
    path_problem,
    variable_name_problem,
)
from dockyard.asl.validation._values import describe

_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector")
# Fields holding machines of their own, validated as such.
_NESTED = ("Branches", "ItemProcessor", "Iterator")


@rule("state", "io-paths")
def io_paths(state: State) -> Iterator[Problem]:
    if state.language != JSONPATH:
        return
    for field in ("InputPath", "OutputPath"):
        value = state.body.get(field)
        if value is not None and (problem := path_problem(value)):
            yield error(state.at(field), problem)
    value = state.body.get("ResultPath")
    if value is not None and (problem := path_problem(value, reference=True, context=False)):
        yield error(state.at("ResultPath"), problem)


def _template(value: Any, path: str) -> Iterator[Problem]:
    """Every ``.$`` field of a payload template holds a path or an intrinsic call."""
    pending = [(path, value)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, list):
            pending.extend((f"{where}/{i}", item) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for key, item in node.items():
            at = f"{where}/{key}"
            if key.endswith(".$"):
                if not isinstance(item, str):
                    yield error(
                        at,
                        f'The value of "{key}" must be a JSONPath or an intrinsic function, '
                        f"got {describe(item)}",
                    )
                elif problem := path_or_intrinsic_problem(item):
                    yield error(at, problem)
                continue
            if isinstance(item, str) and (item.startswith("$.") or is_intrinsic(item)):
                yield warning(
                    at,
                    f'"{key}" holds {item!r}, which looks like a path or an intrinsic function, '
                    f'but is used as written: name the field "{key}.$" to evaluate it',
                    NO_DOLLAR,
                )
            pending.append((at, item))


@rule("state", "payload-templates")
def payload_templates(state: State) -> Iterator[Problem]:
    if state.language != JSONPATH:
        return
    for field in _TEMPLATES:
        if field in state.body:
            yield from _template(state.body[field], state.at(field))
    if state.type == "Task" and "Credentials" in state.body:
        yield from _template(state.body["Credentials"], state.at("Credentials"))
    batcher = state.body.get("ItemBatcher")
    if isinstance(batcher, dict) and "BatchInput" in batcher:
        yield from _template(batcher["BatchInput"], state.at("ItemBatcher", "BatchInput"))
    reader = state.body.get("ItemReader")
    if isinstance(reader, dict) and "Parameters" in reader:
        yield from _template(reader["Parameters"], state.at("ItemReader", "Parameters"))


# The fields of PATH_TWINS whose values are strings: a path there is taken as written.
_TAKE_STRINGS = frozenset({"Timestamp", "Error", "Cause"})


@rule("state", "no-path")
def no_path(state: State) -> Iterator[Problem]:
    """A value that looks like a path in a field that takes it as written (``"Seconds":
    "$.wait"``): AWS's NO_PATH warning, naming the field that reads it."""
    if state.language != JSONPATH:
        return
    for field in PATH_TWINS:
        value = state.body.get(field)
        # Where a string is no legal value (Seconds...), the field's error says the same.
        if field in _TAKE_STRINGS and isinstance(value, str) and value.startswith("$"):
            yield warning(
                state.at(field),
                f'"{field}" holds {value!r}, which looks like a path, but is used as written: '
                f'name the field "{field}Path" to read it from the input',
                NO_PATH,
            )


def _assigns(state: State) -> Iterator[tuple[str, Any]]:
    if "Assign" in state.body:
        yield state.at("Assign"), state.body["Assign"]
    for field in ("Catch", "Choices"):
        entries = state.body.get(field)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and "Assign" in entry:
                    yield state.at(field, index, "Assign"), entry["Assign"]


@rule("state", "assign")
def assign(state: State) -> Iterator[Problem]:
    for where, value in _assigns(state):
        if not isinstance(value, dict):
            yield error(where, f"must be an object of variables, got {describe(value)}")
            continue
        for key, item in value.items():
            dollar = key.endswith(".$") and state.language == JSONPATH
            name = key[:-2] if dollar else key
            if problem := variable_name_problem(name):
                yield error(f"{where}/{key}", problem)
            if dollar and (problem := path_or_intrinsic_problem(item)):
                yield error(f"{where}/{key}", problem)
            elif not dollar and state.language == JSONPATH:
                yield from _template(item, f"{where}/{key}")


@rule("state", "jsonata-expressions")
def jsonata_expressions(state: State) -> Iterator[Problem]:
    if state.language != JSONATA:
        return
    pending = [
        (state.at(field), value) for field, value in state.body.items() if field not in _NESTED
    ]
    while pending:
        where, node = pending.pop()
        if isinstance(node, dict):
            pending.extend((f"{where}/{key}", item) for key, item in node.items())
        elif isinstance(node, list):
            pending.extend((f"{where}/{i}", item) for i, item in enumerate(node))
        elif isinstance(node, str) and (problem := jsonata_problem(node)):
            yield error(where, problem)
