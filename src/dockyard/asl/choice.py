"""Choice rules (JSONPath mode).

A rule is ``And`` / ``Or`` / ``Not`` over rules, or ``Variable`` and one comparison::

    BooleanEquals  NumericEquals  NumericGreaterThan[Equals]  NumericLessThan[Equals]
    StringEquals   StringGreaterThan[Equals]  StringLessThan[Equals]  StringMatches
    TimestampEquals  TimestampGreaterThan[Equals]  TimestampLessThan[Equals]
    each also as ...Path (the other operand read from the input)
    IsNull  IsPresent  IsNumeric  IsString  IsBoolean  IsTimestamp

A comparison of the wrong type is false, not an error (``NumericEquals`` on a string). A
``Variable`` or ``...Path`` operand that selects nothing is ``States.Runtime``, except under
``IsPresent``. ``StringMatches`` takes ``*`` as any run of characters; ``\\*`` and ``\\\\``
are a literal star and backslash. Timestamps are RFC 3339 and compare as instants.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from dockyard.asl import paths
from dockyard.asl.errors import runtime
from dockyard.wildcard import matches_wildcard

__all__ = ["matches", "parse_timestamp"]

_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a zone, or None."""
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 fraction digits
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=1024)
def _pieces(text: str) -> tuple[str, ...]:
    """The literal text of a ``StringMatches`` pattern split at its unescaped stars."""
    pieces: list[str] = []
    piece: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            piece.append(text[pos + 1])
            pos += 2
            continue
        if char == "*":
            pieces.append("".join(piece))
            piece = []
        else:
            piece.append(char)
        pos += 1
    pieces.append("".join(piece))
    return tuple(pieces)


_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
}


def _compare(kind: str, relation: str, left: Any, right: Any) -> bool:
    test = _ORDER[relation]
    if kind == "Numeric":
        return _is_number(left) and _is_number(right) and test(left, right)
    if kind == "String":
        return isinstance(left, str) and isinstance(right, str) and test(left, right)
    if kind == "Boolean":
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    # Timestamp
    left_time, right_time = parse_timestamp(left), parse_timestamp(right)
    return left_time is not None and right_time is not None and test(left_time, right_time)


_COMPARISONS: dict[str, tuple[str, str, bool]] = {}
for _kind in ("Boolean", "Numeric", "String", "Timestamp"):
    for _relation in _ORDER:
        if _kind == "Boolean" and _relation != "Equals":
            continue
        _COMPARISONS[_kind + _relation] = (_kind, _relation, False)
        _COMPARISONS[_kind + _relation + "Path"] = (_kind, _relation, True)


def _operand(path: str, data: Any, context: Any, variables: Mapping[str, Any]) -> Any:
    value = paths.find(path, data, context=context, variables=variables)
    if value is paths.MISSING:
        raise runtime(
            f"Invalid path '{path}': The choice state's condition path references an invalid value."
        )
    return value


def matches(
    rule: Mapping[str, Any], data: Any, *, context: Any, variables: Mapping[str, Any]
) -> bool:
    """Whether ``rule`` holds for ``data`` (the Choice state's effective input)."""
    if "And" in rule:
        return all(matches(r, data, context=context, variables=variables) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, data, context=context, variables=variables) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data, context=context, variables=variables)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise runtime("A choice rule has no Variable")
    if "IsPresent" in rule:
        found = paths.find(variable, data, context=context, variables=variables)
        present = found is not paths.MISSING and found != []
        return present is bool(rule["IsPresent"])
    value = _operand(variable, data, context, variables)
    for test, expected in rule.items():
        if test in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if test in _TYPE_TESTS:
            return _TYPE_TESTS[test](value) is bool(expected)
        if test == "StringMatches":
            return isinstance(value, str) and matches_wildcard(_pieces(str(expected)), value)
        spec = _COMPARISONS.get(test)
        if spec is None:
            raise runtime(f"Unknown choice comparison '{test}'")
        kind, relation, by_path = spec
        other = _operand(expected, data, context, variables) if by_path else expected
        return _compare(kind, relation, value, other)
    raise runtime(f"The choice rule on '{variable}' has no comparison")


_TYPE_TESTS: Mapping[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}
