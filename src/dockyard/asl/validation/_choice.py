"""Rules on Choice states: each rule has exactly one operator, a Variable when it compares,
operands of the operator's type, Next at the top level only, And/Or/Not well formed; in
JSONata mode a Condition instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dockyard.asl.jsonata import is_jsonata
from dockyard.asl.validation._model import JSONATA, State, error, rule
from dockyard.asl.validation._problems import Problem
from dockyard.asl.validation._syntax import path_problem, pattern_problem, timestamp_problem
from dockyard.asl.validation._values import describe, number_problem, string_problem


def _boolean_problem(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be a boolean, got {describe(value)}"


_COMPARED: dict[str, Callable[[Any], str | None]] = {
    "String": string_problem,
    "Numeric": number_problem,
    "Boolean": _boolean_problem,
    "Timestamp": timestamp_problem,
}
_RELATIONS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")


def _operators() -> dict[str, Callable[[Any], str | None]]:
    operators: dict[str, Callable[[Any], str | None]] = {}
    for kind, check in _COMPARED.items():
        relations = ("Equals",) if kind == "Boolean" else _RELATIONS
        for relation in relations:
            operators[f"{kind}{relation}"] = check
            operators[f"{kind}{relation}Path"] = lambda v: path_problem(v, reference=True)
    operators["StringMatches"] = pattern_problem
    for test in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
        operators[test] = _COMPARED["Boolean"]
    return operators


OPERATORS = _operators()
_BOOLEANS = ("And", "Or", "Not")
_JSONATA_RULE = {"Condition", "Next", "Comment", "Output", "Assign"}


@rule("state", "choice-choices")
def choice_choices(state: State) -> Iterator[Problem]:
    if state.type != "Choice":
        return
    choices = state.body.get("Choices")
    if choices is None:
        yield error(state.path, 'These fields are required: ["Choices"]')
    elif not isinstance(choices, list) or not choices:
        yield error(state.at("Choices"), "must be a non-empty array of Choice rules")
    if "Default" in state.body and (problem := string_problem(state.body["Default"], empty=False)):
        yield error(state.at("Default"), problem)


@rule("state", "choice-rules")
def choice_rules(state: State) -> Iterator[Problem]:
    if state.type != "Choice" or not isinstance(state.body.get("Choices"), list):
        return
    for index, choice in enumerate(state.body["Choices"]):
        path = state.at("Choices", index)
        if state.language == JSONATA:
            yield from _jsonata_rule(choice, path)
        else:
            yield from _jsonpath_rule(choice, path, top=True)


def _jsonata_rule(choice: Any, path: str) -> Iterator[Problem]:
    if not isinstance(choice, dict):
        yield error(path, "A Choice rule must be an object")
        return
    for field in choice:
        if field not in _JSONATA_RULE:
            hint = (
                " (JSONata rules test a Condition)"
                if field in OPERATORS
                or field
                in (
                    "Variable",
                    *_BOOLEANS,
                )
                else ""
            )
            yield error(f"{path}/{field}", f'The field "{field}" is not allowed here{hint}')
    if "Condition" not in choice:
        yield error(path, 'These fields are required: ["Condition"]')
    elif not (isinstance(choice["Condition"], bool) or is_jsonata(choice["Condition"])):
        yield error(
            f"{path}/Condition",
            f'must be a JSONata expression "{{% ... %}}" or a boolean, got '
            f"{describe(choice['Condition'])}",
        )
    yield from _next(choice, path, top=True)


def _next(choice: dict[str, Any], path: str, *, top: bool) -> Iterator[Problem]:
    if top and "Next" not in choice:
        yield error(path, 'These fields are required: ["Next"]')
    elif top and (problem := string_problem(choice["Next"], empty=False)):
        yield error(f"{path}/Next", problem)
    elif not top and "Next" in choice:
        yield error(f"{path}/Next", "A nested Choice rule cannot have Next")


def _jsonpath_rule(choice: Any, path: str, *, top: bool) -> Iterator[Problem]:
    if not isinstance(choice, dict):
        yield error(path, "A Choice rule must be an object")
        return
    allowed = {"Variable", "Comment", *OPERATORS, *_BOOLEANS}
    if top:
        allowed |= {"Next", "Assign"}
    for field in choice:
        if field not in allowed and not (field == "Next" and not top):
            yield error(f"{path}/{field}", f'The field "{field}" is not allowed in a Choice rule')
    yield from _next(choice, path, top=top)
    used = [field for field in choice if field in OPERATORS or field in _BOOLEANS]
    if not used:
        yield error(
            path,
            "A Choice rule needs exactly one comparison operator (StringEquals, "
            "NumericLessThan, IsPresent...) or one of And, Or, Not",
        )
        return
    if len(used) > 1:
        yield error(path, f"A Choice rule takes exactly one operator, got {', '.join(used)}")
        return
    operator = used[0]
    if operator in _BOOLEANS:
        if "Variable" in choice:
            yield error(f"{path}/Variable", f"A rule with {operator} cannot have a Variable")
        yield from _boolean(operator, choice[operator], f"{path}/{operator}")
        return
    if "Variable" not in choice:
        yield error(path, 'These fields are required: ["Variable"]')
    elif problem := path_problem(choice["Variable"], reference=True):
        yield error(f"{path}/Variable", problem)
    if problem := OPERATORS[operator](choice[operator]):
        yield error(f"{path}/{operator}", problem)


def _boolean(operator: str, value: Any, path: str) -> Iterator[Problem]:
    if operator == "Not":
        if not isinstance(value, dict):
            yield error(path, f"Not takes one Choice rule (an object), got {describe(value)}")
        else:
            yield from _jsonpath_rule(value, path, top=False)
        return
    if not isinstance(value, list) or not value:
        yield error(path, f"{operator} takes a non-empty array of Choice rules")
        return
    for index, nested in enumerate(value):
        yield from _jsonpath_rule(nested, f"{path}/{index}", top=False)
