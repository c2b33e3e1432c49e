"""Rules on the shape of each machine: its fields, StartAt, state names, transitions, a way
to end, every state reachable; and on the definition as a whole: unique state names, the
query language."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from dockyard.asl.validation._model import (
    JSONATA,
    JSONPATH,
    Machine,
    State,
    error,
    machines,
    rule,
)
from dockyard.asl.validation._problems import (
    DUPLICATE_NAME,
    INVALID_NAME,
    MISSING_END,
    MISSING_TARGET,
    Problem,
)
from dockyard.asl.validation._values import describe, integer_problem, string_problem

MAX_STATE_NAME = 80
MAX_DEFINITION_BYTES = 1_048_576
STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_MACHINE_FIELDS = {
    "top": {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"},
    "branch": {"Comment", "StartAt", "States"},
    "processor": {"Comment", "StartAt", "States", "ProcessorConfig"},
}


@rule("machine", "machine-fields")
def machine_fields(machine: Machine) -> Iterator[Problem]:
    allowed = _MACHINE_FIELDS[machine.kind]
    for field in machine.body:
        if field not in allowed:
            where = "at the top of a state machine" if machine.kind == "top" else "here"
            yield error(f"{machine.path}/{field}", f'The field "{field}" is not allowed {where}')


@rule("machine", "machine-states")
def machine_states(machine: Machine) -> Iterator[Problem]:
    states = machine.body.get("States")
    if states is None:
        yield error(machine.path or "/", 'These fields are required: ["States"]')
    elif not isinstance(states, dict):
        yield error(f"{machine.path}/States", f"must be an object, got {describe(states)}")
    elif not states:
        yield error(f"{machine.path}/States", "must hold at least one state")
    else:
        for name, body in states.items():
            if not isinstance(body, dict):
                yield error(
                    f"{machine.path}/States/{name}",
                    f'The state "{name}" must be an object, got {describe(body)}',
                )


@rule("machine", "start-at")
def start_at(machine: Machine) -> Iterator[Problem]:
    value = machine.body.get("StartAt")
    if value is None:
        yield error(machine.path or "/", 'These fields are required: ["StartAt"]')
    elif not isinstance(value, str):
        yield error(f"{machine.path}/StartAt", f"must be a string, got {describe(value)}")
    elif isinstance(machine.body.get("States"), dict) and value not in machine.names():
        yield error(f"{machine.path}/StartAt", f"Missing 'Next' target: {value}", MISSING_TARGET)


@rule("machine", "state-names")
def state_names(machine: Machine) -> Iterator[Problem]:
    for name in machine.names():
        where = f"{machine.path}/States/{name}"
        if not name:
            yield error(where, "A state name must not be empty", INVALID_NAME)
        elif len(name) > MAX_STATE_NAME:
            yield error(
                where,
                f"The state name {name[:20]!r}... is {len(name)} characters long; "
                f"at most {MAX_STATE_NAME}",
                INVALID_NAME,
            )
        elif any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
            yield error(where, f"The state name {name!r} has control characters", INVALID_NAME)


@rule("machine", "machine-timeout")
def machine_timeout(machine: Machine) -> Iterator[Problem]:
    if machine.kind == "top" and "TimeoutSeconds" in machine.body:
        problem = integer_problem(machine.body["TimeoutSeconds"], minimum=1)
        if problem:
            yield error("/TimeoutSeconds", problem)
    for field in ("Comment", "Version"):
        if field in machine.body and (problem := string_problem(machine.body[field])):
            yield error(f"{machine.path}/{field}", problem)


def targets(state: State) -> Iterator[tuple[str, str]]:
    """(pointer, target name) of every transition a state may take."""
    body = state.body
    for field in ("Next", "Default"):
        if isinstance(body.get(field), str):
            yield state.at(field), body[field]
    for index, catcher in enumerate(_objects(body.get("Catch"))):
        if isinstance(catcher.get("Next"), str):
            yield state.at("Catch", index, "Next"), catcher["Next"]
    if state.type == "Choice":
        for index, choice in enumerate(_objects(body.get("Choices"))):
            if isinstance(choice.get("Next"), str):
                yield state.at("Choices", index, "Next"), choice["Next"]


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return (
        [item if isinstance(item, dict) else {} for item in value]
        if isinstance(value, list)
        else []
    )


@rule("machine", "transition-targets")
def transition_targets(machine: Machine) -> Iterator[Problem]:
    names = machine.names()
    for state in machine.states():
        for path, target in targets(state):
            if target not in names:
                yield error(path, f"Missing 'Next' target: {target}", MISSING_TARGET)


def is_terminal(state: State) -> bool:
    return state.type in ("Succeed", "Fail") or state.body.get("End") is True


@rule("machine", "terminal-state")
def terminal_state(machine: Machine) -> Iterator[Problem]:
    states = list(machine.states())
    if states and not any(is_terminal(state) for state in states):
        yield error(
            f"{machine.path}/States",
            'No terminal state: a machine needs a Succeed or Fail state or one with "End": true',
            MISSING_END,
        )


@rule("machine", "reachable-states")
def reachable_states(machine: Machine) -> Iterator[Problem]:
    start = machine.body.get("StartAt")
    by_name = {state.name: state for state in machine.states()}
    if start not in by_name:
        return  # start-at says so
    seen = {start}
    pending = [start]
    while pending:
        for _, target in targets(by_name[pending.pop()]):
            if target in by_name and target not in seen:
                seen.add(target)
                pending.append(target)
    for name, state in by_name.items():
        if name not in seen:
            yield error(state.path, f'State "{name}" is not reachable from "{start}"')


@rule("definition", "unique-state-names")
def unique_state_names(definition: Mapping[str, Any]) -> Iterator[Problem]:
    # State names are one namespace across branches and processors: the execution history
    # and redrive name states without saying which branch holds them.
    first: dict[str, str] = {}
    for machine in machines(definition):
        for name in machine.names():
            path = f"{machine.path}/States/{name}"
            if name in first:
                yield error(
                    path,
                    f'Duplicate State name: "{name}" is also defined at {first[name]}',
                    DUPLICATE_NAME,
                )
            else:
                first[name] = path


@rule("definition", "definition-size")
def definition_size(definition: Mapping[str, Any]) -> Iterator[Problem]:
    size = len(json.dumps(definition, separators=(",", ":")).encode())
    if size > MAX_DEFINITION_BYTES:
        yield error(
            "",
            f"The definition is {size} bytes of JSON; Step Functions takes at most "
            f"{MAX_DEFINITION_BYTES} (1 MiB)",
        )


@rule("definition", "query-language")
def query_language(definition: Mapping[str, Any]) -> Iterator[Problem]:
    top = definition.get("QueryLanguage", JSONPATH)
    if top not in (JSONPATH, JSONATA):
        yield error("/QueryLanguage", f'must be "JSONPath" or "JSONata", got {describe(top)}')
        return
    for machine in machines(definition):
        for state in machine.states():
            value = state.body.get("QueryLanguage")
            if value is None:
                continue
            if value not in (JSONPATH, JSONATA):
                yield error(
                    state.at("QueryLanguage"),
                    f'must be "JSONPath" or "JSONata", got {describe(value)}',
                )
            elif value == JSONPATH and machine.language == JSONATA:
                yield error(
                    state.at("QueryLanguage"),
                    "A state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
                )


@rule("state", "state-type")
def state_type(state: State) -> Iterator[Problem]:
    value = state.body.get("Type")
    if value is None:
        yield error(state.path, 'These fields are required: ["Type"]')
    elif not isinstance(value, str):
        yield error(
            state.at("Type"),
            f"The state type is a string (one of {', '.join(STATE_TYPES)}), not {describe(value)}",
        )
    elif value not in STATE_TYPES:
        yield error(
            state.at("Type"),
            f"Unknown state type {value[:60]!r}: one of {', '.join(STATE_TYPES)}",
        )
