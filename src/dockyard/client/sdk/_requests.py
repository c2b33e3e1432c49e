"""Building the request models the server validates, on the client, with the server's errors.

The SDK sends the same pydantic models the routes take as bodies
(:mod:`dockyard.api.tracking._requests`, :mod:`dockyard.api.registry._requests`), so a bad value
fails before it leaves the process, with the message and field the server would have given.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dockyard.errors import invalid_from_validation

__all__ = ["build"]

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], **fields: Any) -> M:
    """``model(**fields)``; a validation error becomes :class:`~dockyard.errors.InvalidArgument`."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from None
