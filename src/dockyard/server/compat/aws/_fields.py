"""Reading an AWS JSON request: required and optional fields, with AWS's names in the errors."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from dockyard.errors import InvalidArgument

__all__ = ["member", "optional", "required", "seconds"]

E = TypeVar("E", bound=Enum)


def required(body: dict[str, Any], name: str, kind: type = str) -> Any:
    value = body.get(name)
    if value is None:
        raise InvalidArgument(f"1 validation error detected: {name} must not be null", field=name)
    if not isinstance(value, kind):
        raise InvalidArgument(f"{name} must be a {kind.__name__}", field=name)
    return value


def optional(body: dict[str, Any], name: str, kind: type = str, default: Any = None) -> Any:
    if body.get(name) is None:
        return default
    return required(body, name, kind)


def member(body: dict[str, Any], name: str, kind: type[E]) -> E | None:
    """An optional field whose value is one of ``kind``'s, refused as AWS refuses it (a
    ValidationException listing the allowed values) otherwise."""
    value = optional(body, name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(
            f"1 validation error detected: Value {value[:100]!r} at '{name}' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{allowed}]",
            field=name,
        ) from None


def seconds(ms: int | None) -> float | None:
    """A time as AWS's JSON protocol sends it: seconds since the epoch."""
    return None if ms is None else ms / 1000
