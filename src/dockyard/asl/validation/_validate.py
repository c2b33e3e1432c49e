"""The face of validation: parse a definition's text, run every rule over it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dockyard.asl.history import MAX_DEPTH, nests_too_deep

# The rule modules register their rules when imported.
from dockyard.asl.validation import (  # noqa: F401
    _choice,
    _data,
    _errors,
    _fields,
    _map_parallel,
    _structure,
)
from dockyard.asl.validation._model import RULES, machines
from dockyard.asl.validation._problems import (
    ERROR,
    INVALID_JSON,
    MISSING_DESCRIPTION,
    SCHEMA,
    DefinitionInvalid,
    Problem,
)

__all__ = ["check_definition", "parse_definition", "validate"]


def validate(definition: Mapping[str, Any]) -> list[Problem]:
    """Every problem of ``definition``, errors and warnings, in the order of the document
    (an empty list: valid)."""
    if not isinstance(definition, Mapping):
        return [Problem(SCHEMA, "", "Definition must be a valid JSON object")]
    problems: list[Problem] = []
    all_machines = list(machines(definition))
    all_states = [state for machine in all_machines for state in machine.states()]
    for rule in RULES:
        if rule.scope == "definition":
            problems.extend(rule.check(definition))
        elif rule.scope == "machine":
            for machine in all_machines:
                problems.extend(rule.check(machine))
        else:
            for state in all_states:
                problems.extend(rule.check(state))
    return sorted(set(problems), key=lambda p: (p.severity != ERROR, p.path, p.message))


def check_definition(definition: Mapping[str, Any]) -> list[Problem]:
    """The warnings of a valid ``definition``; :class:`DefinitionInvalid` when it has errors."""
    problems = validate(definition)
    if any(problem.severity == ERROR for problem in problems):
        raise DefinitionInvalid(problems)
    return problems


def parse_definition(text: str) -> dict[str, Any]:
    """The definition in JSON ``text``; :class:`DefinitionInvalid` names the line and column of
    a syntax error, and refuses duplicate keys (JSON parsers keep the last, silently)."""
    if not isinstance(text, str) or not text.strip():
        raise DefinitionInvalid([Problem(MISSING_DESCRIPTION, "", "The definition is empty")])
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        data = None  # nested past what the parser follows: refused below like any too deep
    except json.JSONDecodeError as exc:
        raise DefinitionInvalid(
            [
                Problem(
                    INVALID_JSON,
                    "",
                    f"{exc.msg} at line {exc.lineno}, column {exc.colno}",
                )
            ]
        ) from exc
    except _Duplicate as exc:
        raise DefinitionInvalid([Problem(INVALID_JSON, "", str(exc))]) from exc
    if data is None or nests_too_deep(data):
        raise DefinitionInvalid(
            [Problem(SCHEMA, "", f"The definition nests deeper than {MAX_DEPTH} levels")]
        )
    if not isinstance(data, dict):
        raise DefinitionInvalid([Problem(SCHEMA, "", "Definition must be a valid JSON object")])
    return data


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(f'Duplicate field "{key}" in an object of the definition')
        result[key] = value
    return result
