"""History events, named and shaped as Step Functions records them.

The interpreter appends events in order and says which earlier event led to each
(``previous_event_id``, AWS's ``previousEventId``); the shell numbers them (``id``).
Payloads appear as JSON text with a ``*Details`` flag beside them, as in AWS's
``GetExecutionHistory``::

    {"type": "PassStateEntered",
     "details": {"stateEnteredEventDetails": {"name": "P", "input": "{\\"a\\":1}",
                                              "inputDetails": {"truncated": false}}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from dockyard.asl.errors import DATA_LIMIT_EXCEEDED, StatesError
from dockyard.json_depth import nests_deeper

__all__ = [
    "MAX_DEPTH",
    "MAX_EVENTS",
    "MAX_HISTORY_BYTES",
    "MAX_PAYLOAD_BYTES",
    "HistoryEvent",
    "checked_text",
    "context_time",
    "json_text",
    "longer_than",
    "nests_too_deep",
    "resource_parts",
    "text_length",
    "text_within_depth",
]

MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_EVENTS: Final = 25_000
#: The text an execution's history may hold in all (its payloads, errors and causes). AWS
#: bounds only the count of events, and 25,000 of them at 256 KiB each would be 6 GiB, held
#: in memory by the one step that writes them (a loop of Pass states runs in one step) and
#: written in one transaction: a server bounds what one execution may make it hold.
MAX_HISTORY_BYTES: Final = 64 * 1024 * 1024
#: How deep a payload may nest. orjson, which writes payloads and an execution's saved state,
#: stops at 254 levels, and the saved state holds a payload some levels down (in a Map's or a
#: Parallel's results, inside nested branches): the rest is left for those.
MAX_DEPTH: Final = 200


@dataclass(slots=True)  # read-only by convention: a frozen one costs 3x to build, per event
class HistoryEvent:
    """One event; ``previous_event_id`` is the id of the event that led to it (0: none), as
    AWS records it: the one before it in its own thread of control, which is not the event
    just before it where Parallel branches or Map iterations interleave. None: the one just
    before it."""

    type: str
    details: dict[str, Any]
    timestamp: datetime
    previous_event_id: int | None = None


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _dumps(value: Any) -> str:
    # orjson where it can: an execution writes its payloads into several events per state. An
    # integer past 64 bits or a key that is not a string takes the standard library's way.
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _encode(value)


def longer_than(value: Any, limit: int) -> bool:
    """Whether ``value`` written as JSON takes more than ``limit`` characters, found without
    writing it: a walk that stops once past ``limit`` (see :func:`text_length`)."""
    return text_length(value, limit) > limit


def text_length(value: Any, limit: int) -> int:
    """About how many characters ``value`` takes written as JSON, counted without writing
    it; once the count passes ``limit`` the walk stops and returns what it has.

    A value may hold one part many times over (a template naming ``$`` in a thousand fields, a
    Map whose iterations all return the same item, a variable assigned an array of itself):
    held, it costs one copy; written out, each time. Writing such a value to learn that it is
    too large could take gigabytes, so payloads and variables are measured first. The count
    is a lower bound of the text's length (no escapes, a character for each number), so a
    value it passes is written and measured exactly after.
    """
    total = 0
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 * len(item) + 1 + sum(map(len, item))  # quotes, colons, commas
            extend(item.values())
        elif isinstance(item, list):
            total += len(item) + 1  # brackets and commas
            extend(item)
        else:
            total += 1
        if total > limit:
            break
    return total


def json_text(value: Any) -> str:
    """Compact JSON, as AWS writes payloads into the history."""
    return _dumps(value)


def nests_too_deep(value: Any, size: int | None = None) -> bool:
    """Whether ``value`` nests deeper than :data:`MAX_DEPTH` levels (checked by orjson, in C;
    ``size``: see :func:`dockyard.json_depth.nests_deeper`)."""
    return nests_deeper(value, MAX_DEPTH, size=size)


def text_within_depth(value: Any) -> str | None:
    """``value`` as compact JSON text, or None when it nests deeper than :data:`MAX_DEPTH`
    levels."""
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # too deep for orjson itself, or an integer past 64 bits, a key that is not a string
        return None if nests_too_deep(value) else _encode(value)
    if nests_too_deep(value, len(text)):
        return None
    return text


def checked_text(value: Any, what: str) -> str:
    """``value`` as JSON text; over 256 KiB, or nested deeper than :data:`MAX_DEPTH` levels, is
    ``States.DataLimitExceeded`` naming ``what``."""
    if longer_than(value, MAX_PAYLOAD_BYTES):
        raise _too_large(what)
    text = text_within_depth(value)
    if text is None:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{what}' returned a result nested deeper than {MAX_DEPTH} "
            "levels, the service limit.",
        )
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise _too_large(what)
    return text


def _too_large(what: str) -> StatesError:
    return StatesError(
        DATA_LIMIT_EXCEEDED,
        f"The state/task '{what}' returned a result with a size exceeding the maximum "
        f"number of bytes service limit ({MAX_PAYLOAD_BYTES} bytes).",
    )


def resource_parts(resource: str) -> tuple[str, str]:
    """A Task's ``resourceType`` and ``resource`` as the history shows them:
    ``arn:aws:states:::sagemaker:createTrainingJob.sync`` -> ``sagemaker``,
    ``createTrainingJob.sync``; ``dockyard:train.sync`` -> ``dockyard``, ``train.sync``."""
    if resource.startswith("arn:"):
        parts = resource.split(":")
        if len(parts) >= 7 and parts[2] == "states" and parts[5]:
            return parts[5], ":".join(parts[6:])
        if len(parts) >= 7 and parts[2] == "lambda":
            return "lambda", parts[-1] if parts[5] == "function" else ":".join(parts[6:])
        if len(parts) >= 6 and parts[2] == "states" and parts[5] == "activity":
            return "activity", ":".join(parts[6:])
        return parts[2] if len(parts) > 2 else resource, resource
    kind, sep, rest = resource.partition(":")
    return (kind, rest) if sep else ("function", resource)


def context_time(moment: datetime) -> str:
    """``moment`` as the context object writes times (``$$.Execution.StartTime``,
    ``$$.State.EnteredTime``): UTC to the millisecond, ``2019-03-26T20:14:13.192Z``, as AWS
    writes them (``isoformat`` writes microseconds, and no fraction at all on a whole
    second)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
