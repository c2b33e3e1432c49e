"""JSONata library functions in JSONata's words: the library (jsonata-python) lets Python's
errors through where JSONata raises its own (``$number('x')`` failed with "could not convert
string to float", ``$sort([1, 'a'])`` with "'<' not supported between instances"), and reads
more than JSONata does (``$number("1_000")``). Each function here refuses what JSONata refuses,
with its message and code, and hands the rest to the library's own.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from dockyard.asl.errors import QUERY_EVALUATION_ERROR, StatesError

__all__ = ["decoding", "library", "number", "power", "sort", "to_millis"]


def _coded(code: str, text: str) -> StatesError:
    """A JSONata error the library would have raised as Python's own (``could not convert
    string to float``), in JSONata's words and with its code."""
    return StatesError(QUERY_EVALUATION_ERROR, f"{text} (code {code})")


#: The strings JSONata's ``$number`` reads: a JSON number, or hexadecimal, octal or binary.
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")
_BASED = re.compile(r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+")


def number(value: Any) -> Any:
    """``$number``: the library reads any text Python's ``float`` does (``"1_000"``,
    ``"nan"``, ``" 12 "``) and fails on the rest with Python's words."""
    from jsonata.functions import Functions  # type: ignore[import-untyped]

    if not isinstance(value, str):
        return Functions.number(value)
    if _DECIMAL.fullmatch(value) and math.isfinite(float(value)):
        return Functions.number(value)
    if _BASED.fullmatch(value):
        return int(value, 0)
    raise _coded("D3030", f"Unable to cast value to a number: {json.dumps(value)}")


def to_millis(timestamp: Any, picture: Any = None) -> Any:
    from jsonata.functions import Functions

    try:
        return Functions.datetime_to_millis(timestamp, picture)
    except (ValueError, OverflowError):
        if picture is not None:
            raise _coded(
                "D3110", f"The timestamp {json.dumps(timestamp)} does not match the picture"
            ) from None
        raise _coded(
            "D3110",
            "The argument of the toMillis function must be an ISO 8601 formatted timestamp. "
            f"Given {json.dumps(timestamp)}",
        ) from None


def sort(array: Any, comparator: Any = None) -> Any:
    from jsonata.functions import Functions

    if comparator is None and isinstance(array, list) and len(array) > 1:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in array)
        if not numbers and not all(isinstance(v, str) for v in array):
            raise _coded(
                "D3070",
                "The single argument form of the sort function can only be applied to an "
                "array of strings or an array of numbers.  Use the second argument to specify "
                "a comparison function",
            )
    return Functions.sort(array, comparator)


def power(base: Any, exponent: Any) -> Any:
    from jsonata.functions import Functions

    if base is not None and exponent is not None:
        try:
            result = float(base) ** float(exponent)  # a negative base's fraction: complex
        except OverflowError:
            result = math.inf
        if isinstance(result, complex) or not math.isfinite(result):
            raise _coded(
                "D3061",
                "The power function has resulted in a value that cannot be represented as a "
                f"JSON number: base={json.dumps(base)}, exponent={json.dumps(exponent)}",
            )
    return Functions.power(base, exponent)


def decoding(name: str, decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def decoded(text: Any) -> Any:
        try:
            return decode(text)
        except UnicodeError:
            raise _coded(
                "D3140", f"Malformed URL passed to ${name}(): {json.dumps(text)}"
            ) from None

    return decoded


def library(name: str) -> Callable[..., Any]:
    from jsonata.functions import Functions

    found: Callable[..., Any] = getattr(Functions, name)
    return found
