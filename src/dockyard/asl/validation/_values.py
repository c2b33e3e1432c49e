"""Checks of single values (types and ranges), each returning what is wrong or None."""

from __future__ import annotations

from typing import Any

from dockyard.asl.effects import MAX_TIMER_SECONDS
from dockyard.asl.jsonata import is_jsonata

__all__ = [
    "MAX_SECONDS",
    "describe",
    "integer_problem",
    "is_integer",
    "number_problem",
    "string_problem",
]

# Step Functions' bound on TimeoutSeconds, HeartbeatSeconds, Seconds, MaxAttempts...
MAX_SECONDS = MAX_TIMER_SECONDS


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 60 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_integer(value: Any) -> bool:
    """A JSON integer: ``3`` or ``3.0``, never ``true``."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def integer_problem(
    value: Any,
    *,
    minimum: int = 0,
    maximum: int | None = MAX_SECONDS,
    jsonata: bool = False,
) -> str | None:
    """An integer in ``[minimum, maximum]``; in JSONata mode a ``{% %}`` string also does."""
    if jsonata and is_jsonata(value):
        return None
    if not is_integer(value):
        return f"must be an integer, got {describe(value)}"
    if value < minimum:
        return f"must be at least {minimum}, got {value}"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum}, got {value}"
    return None


def number_problem(
    value: Any, *, minimum: float | None = None, maximum: float | None = None, jsonata: bool = False
) -> str | None:
    if jsonata and is_jsonata(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, got {describe(value)}"
    if minimum is not None and value < minimum:
        return f"must be at least {minimum}, got {value}"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum}, got {value}"
    return None


def string_problem(value: Any, *, empty: bool = True) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    if not empty and not value:
        return "must not be empty"
    return None
