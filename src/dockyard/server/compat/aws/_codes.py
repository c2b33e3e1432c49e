"""Each AWS service's own names for Dockyard's errors (CloudWatch Logs says
``ResourceNotFoundException`` where SSM says ``ParameterNotFound``), applied to a service's
action table once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dockyard.errors import Conflict, DockyardError
from dockyard.server.compat.aws._errors import AwsError

__all__ = ["named", "translated"]

F = TypeVar("F", bound=Callable[..., Any])


def named(exc: DockyardError, fields: Mapping[str, str] | None = None) -> str:
    """The error's message, with the field at fault in front when the message does not say it
    (by the service's name for it: ``fields`` maps Dockyard's field names to AWS's). A
    conflict has no field at fault: its field (an endpoint watched by a schedule) is Dockyard's
    name for the resource in use, which the request does not spell so."""
    field = None if isinstance(exc, Conflict) else exc.field
    if field and fields:
        head, dot, rest = field.partition(".")
        field = fields.get(head, head) + dot + rest
    if field and field not in exc.message:
        return f"{field}: {exc.message}"
    return exc.message


def translated(
    actions: Mapping[str, F],
    codes: Mapping[type[DockyardError], str | tuple[str, int]],
    fields: Mapping[str, str] | None = None,
) -> dict[str, F]:
    """``actions``, each turning the Dockyard errors listed in ``codes`` (the first class that
    matches, in order) into that AWS code (and status, 400 unless given), naming the field as
    ``fields`` says; other errors pass through unchanged."""

    def wrap(action: F) -> F:
        @functools.wraps(action)
        def run(*args: Any) -> Any:
            try:
                return action(*args)
            except AwsError:
                raise
            except DockyardError as exc:
                for kind, code in codes.items():
                    if isinstance(exc, kind):
                        name, status = code if isinstance(code, tuple) else (code, 400)
                        raise AwsError(name, named(exc, fields), status) from None
                raise

        return run  # type: ignore[return-value]

    return {name: wrap(action) for name, action in actions.items()}
