"""Rules on Parallel and Map states (their nested machines are validated as machines of their
own): branches, Iterator versus ItemProcessor, processor configuration, items, batching,
concurrency, tolerated failures, label."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from dockyard.asl.jsonata import is_jsonata
from dockyard.asl.validation._model import JSONATA, State, error, rule
from dockyard.asl.validation._problems import Problem
from dockyard.asl.validation._syntax import path_problem
from dockyard.asl.validation._values import (
    describe,
    integer_problem,
    number_problem,
    string_problem,
)

MAX_BATCH_BYTES = 262_144
MAX_LABEL = 40
_LABEL_FORBIDDEN = re.compile(r"[\s<>{}\[\]*?\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_BATCHER = {
    "MaxItemsPerBatch",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath",
    "BatchInput",
}


@rule("state", "parallel-branches")
def parallel_branches(state: State) -> Iterator[Problem]:
    if state.type != "Parallel":
        return
    branches = state.body.get("Branches")
    if branches is None:
        yield error(state.path, 'These fields are required: ["Branches"]')
    elif not isinstance(branches, list) or not branches:
        yield error(state.at("Branches"), "must be a non-empty array of branches")
    else:
        for index, branch in enumerate(branches):
            if not isinstance(branch, dict):
                yield error(
                    state.at("Branches", index),
                    f"A branch must be an object with StartAt and States, got {describe(branch)}",
                )


@rule("state", "map-processor")
def map_processor(state: State) -> Iterator[Problem]:
    if state.type != "Map":
        return
    given = [field for field in ("ItemProcessor", "Iterator") if field in state.body]
    if not given:
        yield error(state.path, 'These fields are required: ["ItemProcessor"]')
    elif len(given) == 2:
        yield error(
            state.path, 'A Map state takes "ItemProcessor" or "Iterator" (deprecated), not both'
        )
    for field in given:
        if not isinstance(state.body[field], dict):
            yield error(state.at(field), "must be an object with StartAt and States")
    if "Parameters" in state.body and "ItemSelector" in state.body:
        yield error(
            state.path, 'A Map state takes "ItemSelector" or "Parameters" (deprecated), not both'
        )


@rule("state", "processor-config")
def processor_config(state: State) -> Iterator[Problem]:
    processor = state.body.get("ItemProcessor")
    if state.type != "Map" or not isinstance(processor, dict):
        return
    if "ProcessorConfig" not in processor:
        return
    config = processor["ProcessorConfig"]
    where = state.at("ItemProcessor", "ProcessorConfig")
    if not isinstance(config, dict):
        yield error(where, f"must be an object, got {describe(config)}")
        return
    for field in config:
        if field not in ("Mode", "ExecutionType"):
            yield error(f"{where}/{field}", f'The field "{field}" is not allowed here')
    mode = config.get("Mode", "INLINE")
    if mode not in ("INLINE", "DISTRIBUTED"):
        yield error(f"{where}/Mode", f'must be "INLINE" or "DISTRIBUTED", got {describe(mode)}')
    kind = config.get("ExecutionType")
    if kind is not None and kind not in ("STANDARD", "EXPRESS"):
        yield error(
            f"{where}/ExecutionType", f'must be "STANDARD" or "EXPRESS", got {describe(kind)}'
        )
    if mode == "DISTRIBUTED" and kind is None:
        yield error(where, 'A DISTRIBUTED processor needs "ExecutionType"')


def _exclusive(body: Mapping[str, Any], field: str, where: str) -> Iterator[Problem]:
    if field in body and f"{field}Path" in body:
        yield error(where, f'Only one of "{field}" and "{field}Path" may be given')
    if f"{field}Path" in body and (problem := path_problem(body[f"{field}Path"], reference=True)):
        yield error(f"{where}/{field}Path", problem)


@rule("state", "map-items")
def map_items(state: State) -> Iterator[Problem]:
    if state.type != "Map":
        return
    body = state.body
    if "ItemsPath" in body and (problem := path_problem(body["ItemsPath"], reference=True)):
        yield error(state.at("ItemsPath"), problem)
    items = body.get("Items")
    if "Items" in body and not (isinstance(items, list) or is_jsonata(items)):
        yield error(
            state.at("Items"),
            f'must be an array or a JSONata expression "{{% ... %}}", got {describe(items)}',
        )
    for field in ("ItemReader", "ResultWriter"):
        value = body.get(field)
        if field not in body:
            continue
        if not isinstance(value, dict):
            yield error(state.at(field), f"must be an object, got {describe(value)}")
        elif field == "ItemReader" and (
            problem := string_problem(value.get("Resource"), empty=False)
        ):
            yield error(state.at(field, "Resource"), f"Resource {problem}")


@rule("state", "map-concurrency")
def map_concurrency(state: State) -> Iterator[Problem]:
    if state.type != "Map":
        return
    jsonata = state.language == JSONATA
    body = state.body
    yield from _exclusive(body, "MaxConcurrency", state.path)
    if "MaxConcurrency" in body and (
        problem := integer_problem(body["MaxConcurrency"], maximum=None, jsonata=jsonata)
    ):
        yield error(state.at("MaxConcurrency"), problem)


@rule("state", "tolerated-failures")
def tolerated_failures(state: State) -> Iterator[Problem]:
    if state.type != "Map":
        return
    jsonata = state.language == JSONATA
    body = state.body
    for field in ("ToleratedFailurePercentage", "ToleratedFailureCount"):
        yield from _exclusive(body, field, state.path)
    if "ToleratedFailurePercentage" in body and (
        problem := number_problem(
            body["ToleratedFailurePercentage"], minimum=0, maximum=100, jsonata=jsonata
        )
    ):
        yield error(state.at("ToleratedFailurePercentage"), problem)
    if "ToleratedFailureCount" in body and (
        problem := integer_problem(body["ToleratedFailureCount"], maximum=None, jsonata=jsonata)
    ):
        yield error(state.at("ToleratedFailureCount"), problem)


@rule("state", "item-batcher")
def item_batcher(state: State) -> Iterator[Problem]:
    if state.type != "Map" or "ItemBatcher" not in state.body:
        return
    batcher = state.body["ItemBatcher"]
    where = state.at("ItemBatcher")
    if not isinstance(batcher, dict):
        yield error(where, f"must be an object, got {describe(batcher)}")
        return
    for field in batcher:
        if field not in _BATCHER:
            yield error(f"{where}/{field}", f'The field "{field}" is not allowed in ItemBatcher')
    if not any(field in batcher for field in _BATCHER - {"BatchInput"}):
        yield error(
            where,
            "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)",
        )
    jsonata = state.language == JSONATA
    for field, maximum in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", MAX_BATCH_BYTES)):
        yield from _exclusive(batcher, field, where)
        if field in batcher and (
            problem := integer_problem(batcher[field], minimum=1, maximum=maximum, jsonata=jsonata)
        ):
            yield error(f"{where}/{field}", problem)
    if "BatchInput" in batcher and not isinstance(batcher["BatchInput"], dict):
        yield error(f"{where}/BatchInput", "must be an object")


@rule("state", "map-label")
def map_label(state: State) -> Iterator[Problem]:
    if state.type != "Map" or "Label" not in state.body:
        return
    label = state.body["Label"]
    if problem := string_problem(label, empty=False):
        yield error(state.at("Label"), problem)
    elif len(label) > MAX_LABEL:
        yield error(state.at("Label"), f"must be at most {MAX_LABEL} characters long")
    elif match := _LABEL_FORBIDDEN.search(label):
        yield error(state.at("Label"), f"must not contain {match.group()!r}")
