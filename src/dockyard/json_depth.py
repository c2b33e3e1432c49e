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

__all__ = ["ORJSON_DEPTH", "nests_deeper"]

#: The deepest value orjson writes.
ORJSON_DEPTH: Final = 254
_TOO_DEEP: Final = "Recursion limit reached"  # orjson's message past its limit


def nests_deeper(value: Any, levels: int) -> bool:
    """Whether ``value`` nests more than ``levels`` levels of objects and arrays (``levels`` at
    most :data:`ORJSON_DEPTH`). A value orjson refuses for another reason (an integer beyond
    64 bits) is not deemed deep: that is for the value's own checks."""
    if not 0 < levels <= ORJSON_DEPTH:
        raise ValueError(f"levels must be between 1 and {ORJSON_DEPTH}")
    for _ in range(ORJSON_DEPTH - levels):
        value = [value]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        return str(exc) == _TOO_DEEP
    return False
