"""Syntax checks of the strings a definition holds: JSONPath, reference paths, timestamps,
StringMatches patterns, variable names, JSONata expressions, intrinsic calls.

Each returns what is wrong in words, or None. Path syntax is checked here on its own terms
(the evaluator reads the same grammar): ``$``, ``$$`` (the context object) or ``$name`` (a
variable), then steps ``.name``, ``.*``, ``..name``, ``[0]``, ``['name']``, ``[*]``,
``[1:3]``, ``[0,2]``, ``[?(...)]``. A reference path names one place: no wildcards, slices,
lists, filters or descent.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.asl.intrinsics import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from dockyard.asl.jsonata import jsonata_expression, jsonata_syntax_problem

__all__ = [
    "intrinsic_problem",
    "jsonata_problem",
    "path_problem",
    "pattern_problem",
    "timestamp_problem",
    "variable_name_problem",
]

_ROOT = re.compile(r"\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$")
_NAME = r"[^.\[\]\s()'\"*]+"
_NUMBER = r"-?\d+"
_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_SIMPLE_STEP = re.compile(rf"\.({_NAME})|\[({_NUMBER})\]|\[({_QUOTED})\]")
_ANY_STEP = re.compile(
    rf"\.\.?(?:{_NAME}(?:\(\))?|\*)"
    rf"|\.\.(?=\[)"
    rf"|\[\s*(?:\*|{_NUMBER}?\s*:\s*{_NUMBER}?(?:\s*:\s*{_NUMBER})?"
    rf"|(?:{_NUMBER}|{_QUOTED})(?:\s*,\s*(?:{_NUMBER}|{_QUOTED}))*)\s*\]"
)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_VARIABLE_NAME = 80
RESERVED_VARIABLES = frozenset({"states"})


def path_problem(value: Any, *, reference: bool = False, context: bool = True) -> str | None:
    """What is wrong with ``value`` as a path; ``reference`` allows only single-place steps,
    ``context`` allows ``$$`` and ``$variable`` roots (ResultPath allows neither)."""
    if not isinstance(value, str):
        return f"must be a path string, got {_kind(value)}"
    root = _ROOT.match(value)
    if root is None:
        return f"{value!r} is not a path: a path starts with '$'"
    if not context and root.group() != "$":
        return f"{value!r} must start with '$' (the state's data), not {root.group()!r}"
    pos = root.end()
    while pos < len(value):
        step = (_SIMPLE_STEP if reference else _ANY_STEP).match(value, pos)
        end = step.end() if step else None if reference else _filter(value, pos)
        if end is None:
            kind = "reference path" if reference else "JSONPath"
            return f"{value!r} is not a valid {kind}: unexpected {value[pos:]!r}"
        pos = end
    return None


def _filter(value: str, pos: int) -> int | None:
    """``[?(...)]`` or ``[(...)]``, its parentheses balanced (quotes respected)."""
    match = re.compile(r"\[\s*\??\(").match(value, pos)
    if match is None:
        return None
    depth, quote, i = 1, "", match.end()
    while i < len(value):
        char = value[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                close = re.compile(r"\s*\]").match(value, i + 1)
                return close.end() if close else None
        i += 1
    return None


def intrinsic_problem(value: str) -> str | None:
    try:
        parse_intrinsic(value)
    except IntrinsicSyntaxError as exc:
        return exc.message
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
        return f"must be a string, got {_kind(value)}"
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


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
