"""Rows as the API's resources, and the opaque page tokens of listings."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson

from dockyard.api.pipelines import (
    Execution,
    ExecutionSummary,
    HistoryEvent,
    StateMachine,
    StateMachineSummary,
)
from dockyard.server.pipelines._errors import InvalidToken

__all__ = [
    "decode_token",
    "encode_token",
    "execution",
    "history_event",
    "is_position",
    "machine",
    "machine_summary",
    "summary",
]

#: The largest event id or time (ms) a page token may hold: far past any, and JSON-exact.
_LAST_POSITION = 2**53


def machine(
    row: Any,
    *,
    definition: str | None = None,
    revision: str | None = None,
    role_arn: str | None = None,
) -> StateMachine:
    return StateMachine(
        name=row.name,
        arn=row.arn,
        type=row.type,
        created_time=row.created_time,
        definition=definition if definition is not None else row.definition,
        role_arn=role_arn if role_arn is not None else row.role_arn,
        description=row.description,
        revision_id=revision or row.revision_id,
        updated_time=row.updated_time,
        created_by=row.created_by,
    )


def machine_summary(
    row: Any, last: Any | None = None, running: int | None = None
) -> StateMachineSummary:
    """A listed state machine; ``last`` (its newest execution's row) and ``running`` given
    when the listing tells how it has been running."""
    return StateMachineSummary(
        name=row.name,
        arn=row.arn,
        type=row.type,
        created_time=row.created_time,
        last_execution=summary(last) if last is not None else None,
        running=running,
    )


def _summary_fields(row: Any) -> dict[str, Any]:
    return {
        "arn": row.arn,
        "state_machine_arn": row.state_machine_arn,
        "name": row.name,
        "status": row.status,
        "start_time": row.start_time,
        "stop_time": row.stop_time,
        "redrive_count": row.redrive_count,
    }


def summary(row: Any) -> ExecutionSummary:
    return ExecutionSummary(**_summary_fields(row))


def execution(row: Any) -> Execution:
    return Execution(
        **_summary_fields(row),
        input=row.input,
        output=row.output,
        error=row.error,
        cause=row.cause,
        redrive_time=row.redrive_time,
        revision_id=row.revision_id,
    )


def history_event(row: Any) -> HistoryEvent:
    return HistoryEvent(
        id=row.event_id,
        previous_event_id=row.previous_event_id,
        type=row.type,
        time=row.time,
        details=row.details,
    )


def encode_token(kind: str, value: Any) -> str:
    """A page token for the listing ``kind`` (``machines``, ``executions:<machine ARN>``,
    ``history:<execution ARN>:<order>``) that resumes after ``value``."""
    return base64.urlsafe_b64encode(orjson.dumps([kind, value])).decode()


def decode_token(
    token: str | None, kind: str, fits: Callable[[Any], bool], field: str = "nextToken"
) -> Any:
    """The value of a token :func:`encode_token` made for ``kind`` (None for no token); a token
    of another listing, or one that was never made here, is refused (not read as a position)."""
    if not token:
        return None
    try:
        found = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, orjson.JSONDecodeError):
        found = None
    if isinstance(found, list) and len(found) == 2 and found[0] == kind and fits(found[1]):
        return found[1]
    raise InvalidToken(
        "this page token was not made by this server for this listing: a token continues "
        "the listing it came from (the same state machine, execution, order and filters)",
        field=field,
    )


def is_position(value: Any) -> bool:
    """An event id or a (start time, ARN) position, as the listings' tokens hold them: an id or
    a time is a whole number from 0 to :data:`_LAST_POSITION` (a forged one past a database's
    64-bit integers, or one a page's bounds would take past them, is refused, not a 500)."""
    if isinstance(value, list):
        return len(value) == 2 and is_position(value[0]) and isinstance(value[1], str)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _LAST_POSITION
