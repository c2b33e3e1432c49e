"""Filter policies with Amazon SNS semantics, checked once when a subscription is saved.

A policy is a JSON object mapping a key to a list of conditions::

    {"type": ["job.status_changed"], "status": ["Failed", {"prefix": "Stop"}],
     "resource_id": [{"wildcard": "nightly-*"}], "score": [{"numeric": [">=", 0.9]}],
     "region": [{"exists": false}], "stage": [{"anything-but": ["dev", "test"]}]}

Keys are ANDed, conditions in one list ORed. A key is looked up in the event's own fields
(``type``, ``resource_type``, ``resource_id``, ``actor``), then in the attributes of a published
message, then in the event body. A value that is a list matches when any element does.
Conditions: an exact string or number, ``prefix``, ``suffix``, ``wildcard`` (``*`` only),
``equals-ignore-case``, ``anything-but`` (a value, a list, or ``{"prefix": ...}``),
``numeric`` (``["=", 5]``, ``[">", 0, "<=", 10]``), ``exists`` (true or false).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.wildcard import matches_wildcard

__all__ = ["event_fields", "matches", "type_matches", "validate_policy"]

MAX_KEYS = 10
MAX_VALUES = 100
_OPS = {"=", "<", "<=", ">", ">="}
_MISSING = object()


def _bad(key: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"filter policy key {key!r}: {message}", field=f"filter.{key}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_policy(policy: Any) -> dict[str, list[Any]]:
    """The policy, or InvalidArgument naming the key (``filter.<key>``) at fault."""
    if not isinstance(policy, dict):
        raise InvalidArgument(
            "a filter policy is a JSON object of key: [conditions]", field="filter"
        )
    if len(policy) > MAX_KEYS:
        raise InvalidArgument(f"a filter policy has at most {MAX_KEYS} keys", field="filter")
    for key, conditions in policy.items():
        if not isinstance(conditions, list) or not conditions:
            raise _bad(key, "expected a non-empty list of conditions")
        if len(conditions) > MAX_VALUES:
            raise _bad(key, f"at most {MAX_VALUES} conditions")
        for condition in conditions:
            _check(key, condition)
    return policy


def _check(key: str, condition: Any) -> None:
    if isinstance(condition, str) or _number(condition):
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise _bad(key, f"{condition!r} is not a string, a number or a one-key operator object")
    ((op, arg),) = condition.items()
    if op in ("prefix", "suffix", "wildcard", "equals-ignore-case"):
        if not isinstance(arg, str) or not arg:
            raise _bad(key, f"{op} takes a non-empty string")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise _bad(key, "exists takes true or false")
    elif op == "anything-but":
        values = arg if isinstance(arg, list) else [arg]
        if isinstance(arg, dict):
            if set(arg) != {"prefix"} or not isinstance(arg["prefix"], str):
                raise _bad(key, 'anything-but takes values, or {"prefix": "..."}')
        elif not values or not all(isinstance(v, str) or _number(v) for v in values):
            raise _bad(key, "anything-but takes a string, a number or a list of them")
    elif op == "numeric":
        _check_numeric(key, arg)
    else:
        raise _bad(
            key,
            f"unknown operator {op!r} (prefix, suffix, wildcard, equals-ignore-case, "
            "anything-but, numeric, exists)",
        )


def _check_numeric(key: str, arg: Any) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise _bad(key, 'numeric takes ["op", number] or [">", low, "<", high]')
    pairs = list(zip(arg[::2], arg[1::2], strict=True))
    for op, value in pairs:
        if op not in _OPS or not _number(value):
            raise _bad(
                key, f"numeric: {op!r} {value!r} is not an operator (=, <, <=, >, >=) and a number"
            )
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in (">", ">=") or high_op not in ("<", "<=") or low >= high:
            raise _bad(
                key, 'a numeric range is [">" or ">=", low, "<" or "<=", high] with low < high'
            )


def event_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a policy's keys look up in an event (a serialised
    :class:`~dockyard.server.events.Event`)."""
    body = event.get("body") or {}
    found = body.get("attributes")
    attributes: dict[str, Any] = found if isinstance(found, dict) else {}
    fields: dict[str, Any] = {**body, **attributes}
    for name in ("type", "resource_type", "resource_id", "actor", "outcome"):
        fields[name] = event.get(name)
    return fields


def matches(policy: Mapping[str, list[Any]], fields: Mapping[str, Any]) -> bool:
    """Whether an event's ``fields`` (:func:`event_fields`) satisfy the policy."""
    for key, conditions in policy.items():
        value = fields.get(key, _MISSING)
        if not any(_holds(c, value) for c in conditions):
            return False
    return True


def _holds(condition: Any, value: Any) -> bool:
    if isinstance(condition, dict):
        ((op, arg),) = condition.items()
        if op == "exists":
            return (value is not _MISSING and value is not None) is arg
    if value is _MISSING or value is None:
        # anything-but does not match a missing key, as in SNS.
        return False
    if isinstance(value, list):
        return any(_holds(condition, v) for v in value)
    if not isinstance(condition, dict):
        if _number(condition):
            return _number(value) and float(value) == float(condition)
        return isinstance(value, str) and value == condition
    ((op, arg),) = condition.items()
    text = value if isinstance(value, str) else None
    if op == "prefix":
        return text is not None and text.startswith(arg)
    if op == "suffix":
        return text is not None and text.endswith(arg)
    if op == "equals-ignore-case":
        return text is not None and text.casefold() == arg.casefold()
    if op == "wildcard":
        return text is not None and matches_wildcard(arg.split("*"), text)
    if op == "anything-but":
        if isinstance(arg, dict):
            return text is not None and not text.startswith(arg["prefix"])
        values = arg if isinstance(arg, list) else [arg]
        return not any(_holds(v, value) for v in values)
    if op == "numeric":
        if not _number(value):
            return False
        number = float(value)
        return all(_compare(number, o, float(v)) for o, v in zip(arg[::2], arg[1::2], strict=True))
    return False


def _compare(number: float, op: str, bound: float) -> bool:
    return {
        "=": number == bound,
        "<": number < bound,
        "<=": number <= bound,
        ">": number > bound,
        ">=": number >= bound,
    }[op]


def type_matches(patterns: list[str], event_type: str) -> bool:
    """Whether ``event_type`` is one of a subscription's event patterns (``job.*``, ``*``)."""
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)
