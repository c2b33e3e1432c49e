"""Reading an AWS JSON request: required and optional fields, with AWS's names in the errors."""

from __future__ import annotations

from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["optional", "required", "seconds"]


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


def seconds(ms: int | None) -> float | None:
    """A time as AWS's JSON protocol sends it: seconds since the epoch."""
    return None if ms is None else ms / 1000
