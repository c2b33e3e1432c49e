"""Syntax checks of the strings a definition holds: JSONPath, reference paths, timestamps,
StringMatches patterns, variable names, JSONata expressions, intrinsic calls.

Each returns what is wrong in words, or None. Paths are parsed by the evaluator's own parser
(``dockyard.asl.paths``), so a definition accepted here reads the same way when it runs. A
reference path names one place: no wildcards, slices, lists, filters or descent.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.asl.errors import StatesError
from dockyard.asl.intrinsics import (
    IntrinsicSyntaxError,
    intrinsic_paths,
    is_intrinsic,
    parse_intrinsic,
)
from dockyard.asl.jsonata import jsonata_expression, jsonata_syntax_problem
from dockyard.asl.paths import parse_path
from dockyard.asl.validation._values import describe

__all__ = [
    "intrinsic_problem",
    "jsonata_problem",
    "path_problem",
    "pattern_problem",
    "timestamp_problem",
    "variable_name_problem",
]

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_VARIABLE_NAME = 80
RESERVED_VARIABLES = frozenset({"states"})


def path_problem(value: Any, *, reference: bool = False, context: bool = True) -> str | None:
    """What is wrong with ``value`` as a path; ``reference`` allows only single-place steps,
    ``context`` allows ``$$`` and ``$variable`` roots (ResultPath allows neither)."""
    if not isinstance(value, str):
        return f"must be a path string, got {describe(value)}"
    try:
        parsed = parse_path(value)
    except StatesError as exc:
        why = (exc.cause or "").split("': ", 1)[-1]
        return f"{value!r} is not a valid JSONPath: {why}"
    if not context and parsed.root != "$":
        return f"{value!r} must start with '$' (the state's data), not {parsed.root!r}"
    if reference and not parsed.definite:
        return (
            f"{value!r} is not a valid reference path: it may name only members and "
            "indices (no wildcards, slices, lists, filters or '..')"
        )
    return None


def intrinsic_problem(value: str) -> str | None:
    """What is wrong with an intrinsic call, its path arguments included."""
    try:
        call = parse_intrinsic(value)
    except IntrinsicSyntaxError as exc:
        return exc.message
    for path in intrinsic_paths(call):
        if problem := path_problem(path):
            return f"in {value!r}: {problem}"
    return None


def path_or_intrinsic_problem(value: Any) -> str | None:
    """What is wrong with a ``.$`` value: a JSONPath, or an intrinsic function call."""
    if isinstance(value, str) and is_intrinsic(value):
        return intrinsic_problem(value)
    return path_problem(value)


def timestamp_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return (
            f"{value!r} is not an RFC 3339 timestamp such as '2026-03-14T01:59:00Z' "
            "(uppercase T, a Z or an offset)"
        )
    return None


def pattern_problem(value: Any) -> str | None:
    """StringMatches: ``*`` is the only wildcard; a backslash escapes ``*`` or ``\\``."""
    if not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    i = 0
    while i < len(value):
        if value[i] == "\\":
            if value[i + 1 : i + 2] not in ("*", "\\"):
                return f"{value!r}: a backslash may only escape '*' or '\\\\' (at {i + 1})"
            i += 2
            continue
        i += 1
    return None


def variable_name_problem(name: str) -> str | None:
    if len(name) > MAX_VARIABLE_NAME:
        return f"the variable name {name!r} is longer than {MAX_VARIABLE_NAME} characters"
    if not _VARIABLE.fullmatch(name):
        return (
            f"{name!r} is not a valid variable name: letters, digits and underscores, "
            "not starting with a digit"
        )
    if name in RESERVED_VARIABLES:
        return f"the variable name {name!r} is reserved"
    return None


def jsonata_problem(value: str) -> str | None:
    """What is wrong with the JSONata expression in a ``"{% ... %}"`` string."""
    expression = jsonata_expression(value)
    if expression is None:
        return None
    if not expression.strip():
        return "the JSONata expression is empty"
    return jsonata_syntax_problem(expression)
