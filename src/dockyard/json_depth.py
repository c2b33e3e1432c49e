"""How deep a JSON value nests, checked in C.

orjson writes the server's JSON (responses, events, stored specs) and refuses a value nested
deeper than 254 levels, while Python's parser reads about a thousand: a value accepted at the
door must not fail later, when it is written. :func:`nests_deeper` asks orjson itself, with the
value wrapped in as many lists as leave it ``levels`` to use, so the check costs one
serialisation in C and no Python recursion.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

__all__ = ["ORJSON_DEPTH", "nests_deeper", "storable"]

#: The deepest value orjson writes.
ORJSON_DEPTH: Final = 254
_TOO_DEEP: Final = "Recursion limit reached"  # orjson's message past its limit


def nests_deeper(value: Any, levels: int, *, size: int | None = None) -> bool:
    """Whether ``value`` nests more than ``levels`` levels of objects and arrays (``levels`` at
    most :data:`ORJSON_DEPTH`). A value orjson refuses for another reason (an integer beyond
    64 bits) is not deemed deep: that is for the value's own checks.

    ``size``, the length of the JSON text ``value`` was read from or written to, skips the
    check when it is too short to nest that deep (each level takes two characters at least):
    most bodies and payloads are, and pay nothing.
    """
    if not 0 < levels <= ORJSON_DEPTH:
        raise ValueError(f"levels must be between 1 and {ORJSON_DEPTH}")
    if size is not None and size <= 2 * levels:
        return False
    for _ in range(ORJSON_DEPTH - levels):
        value = [value]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        return str(exc) == _TOO_DEEP
    return False


def storable(value: Any) -> Any:
    """``value``, for a free-form field the server keeps and writes back (a message, a filter,
    a spec); ValueError naming why orjson cannot write it (half of a UTF-16 surrogate pair,
    which Python's parser takes from a ``\\ud800`` escape; an integer beyond 64 bits)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"holds a value the server cannot store ({exc})") from None
    return value
