"""What each intrinsic function does, with the argument checks and limits AWS documents.

Every function takes its evaluated arguments and returns a JSON value. Arity and the kind of
each argument (array, string, integer...) live in :data:`SIGNATURES`, so a parse can reject
``States.ArrayRange(1, 'a', 2)`` when the definition is created, and a run checks the same
kinds on values that came from paths. A bad value fails the state with
``States.IntrinsicFailure``, naming the function and the argument.

Numbers where AWS wants an integer are rounded to the nearest integer, halves up (Java's
``Math.round``), as the AWS guide says of ArrayRange, ArrayPartition, MathRandom and MathAdd.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any, NoReturn

from dockyard.asl.errors import StatesError
from dockyard.asl.history import MAX_PAYLOAD_BYTES, longer_than

__all__ = ["FUNCTIONS", "SIGNATURES", "Env", "Signature", "check_kind", "format_pieces", "render"]

INTRINSIC_FAILURE = "States.IntrinsicFailure"

# AWS's documented limits.
MAX_RANGE_ITEMS = 1000
MAX_ENCODE_CHARS = 10_000
MAX_HASH_CHARS = 10_000
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


@dataclass(frozen=True)
class Signature:
    """The arguments of a function: their names and kinds, the last repeated when ``variadic``;
    ``required`` is how many must be given."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    required: int
    variadic: bool = False

    def bounds(self) -> tuple[int, int | None]:
        return self.required, None if self.variadic else len(self.names)

    def argument(self, index: int) -> tuple[str, str]:
        """(name, kind) of the 0-based ``index``."""
        at = min(index, len(self.names) - 1)
        return self.names[at], self.kinds[at]


SIGNATURES: dict[str, Signature] = {
    "States.Format": Signature(("template", "value"), ("string", "any"), 1, variadic=True),
    "States.StringToJson": Signature(("jsonString",), ("string",), 1),
    "States.JsonToString": Signature(("value",), ("any",), 1),
    "States.Array": Signature(("value",), ("any",), 0, variadic=True),
    "States.ArrayPartition": Signature(("array", "chunkSize"), ("array", "integer"), 2),
    "States.ArrayContains": Signature(("array", "lookingFor"), ("array", "any"), 2),
    "States.ArrayRange": Signature(("start", "end", "step"), ("integer", "integer", "integer"), 3),
    "States.ArrayGetItem": Signature(("array", "index"), ("array", "integer"), 2),
    "States.ArrayLength": Signature(("array",), ("array",), 1),
    "States.ArrayUnique": Signature(("array",), ("array",), 1),
    "States.Base64Encode": Signature(("string",), ("string",), 1),
    "States.Base64Decode": Signature(("base64",), ("string",), 1),
    "States.Hash": Signature(("data", "algorithm"), ("string", "string"), 2),
    "States.JsonMerge": Signature(
        ("json1", "json2", "deepMerge"), ("object", "object", "boolean"), 3
    ),
    "States.MathRandom": Signature(("start", "end", "seed"), ("integer", "integer", "integer"), 2),
    "States.MathAdd": Signature(("value1", "value2"), ("integer", "integer"), 2),
    "States.StringSplit": Signature(("string", "splitter"), ("string", "string"), 2),
    "States.UUID": Signature((), (), 0),
}

_KIND_WORDS = {
    "array": "an array",
    "string": "a string",
    "integer": "a number",
    "object": "a JSON object",
    "boolean": "a boolean",
}


def _fail(function: str, problem: str) -> NoReturn:
    raise StatesError(INTRINSIC_FAILURE, f"{function}: {problem}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_kind(function: str, index: int, value: Any) -> str | None:
    """Why ``value`` cannot be argument ``index`` (0-based) of ``function``, or None."""
    name, kind = SIGNATURES[function].argument(index)
    ok = {
        "any": True,
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int | float) and not isinstance(value, bool),
        "object": isinstance(value, dict),
        "boolean": isinstance(value, bool),
    }[kind]
    if ok:
        return None
    return f"argument {index + 1} ({name}) must be {_KIND_WORDS[kind]}, got {_type_name(value)}"


def _integer(value: float) -> int:
    if isinstance(value, int):
        return value
    return math.floor(value + 0.5)


def render(value: Any) -> str:
    """A value as States.Format writes it: strings as they are, other scalars as JSON, objects
    and arrays the way Step Functions prints them (``{a=1, b=[x, y]}``)."""
    out: list[str] = []
    _render(value, out, [None])
    return "".join(out)


def _render(value: Any, out: list[str], left: list[int | None]) -> None:
    """Append ``value`` rendered to ``out``; ``left[0]``: the characters it may still add
    (None: no bound), past which States.Format fails before writing more."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | dict):
        items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
        text = "[" if isinstance(value, list) else "{"
        for index, (key, item) in enumerate(items):
            _add(f"{', ' if index else text}{'' if key is None else key + '='}", out, left)
            _render(item, out, left)
        text = ("" if value else text) + ("]" if isinstance(value, list) else "}")
    else:
        text = json.dumps(value)
    _add(text, out, left)


def _add(text: str, out: list[str], left: list[int | None]) -> None:
    budget = left[0]
    if budget is not None:
        budget -= len(text)
        if budget < 0:
            _fail(
                "States.Format",
                f"the result would be longer than {MAX_PAYLOAD_BYTES} characters, the "
                "service limit of a state's data",
            )
        left[0] = budget
    out.append(text)


def _canonical(value: Any) -> Any:
    """A hashable key under which two equal JSON values meet: ``1`` and ``1.0`` are one number,
    ``true`` is not ``1`` (Python says it is)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", int(value) if float(value).is_integer() else value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    return ("other", repr(value))


@dataclass
class Env:
    """What a call may need besides its arguments: the execution's random generator."""

    random: Random


def format_pieces(pieces: Sequence[str], values: Sequence[Any]) -> str:
    """States.Format: ``values`` rendered between the template's ``pieces`` (the text around
    its ``{}`` placeholders)."""
    parts = list(pieces)
    if len(parts) - 1 != len(values):
        _fail(
            "States.Format",
            f"the template has {len(parts) - 1} placeholder(s) '{{}}' but {len(values)} "
            f"value(s) follow it",
        )
    out: list[str] = []
    # Each value may be large, and may be given many times: the text is bounded as it grows.
    left: list[int | None] = [MAX_PAYLOAD_BYTES]
    _add(parts[0], out, left)
    for value, part in zip(values, parts[1:], strict=True):
        _render(value, out, left)
        _add(part, out, left)
    return "".join(out)


def _format(env: Env, args: Sequence[Any]) -> str:
    # A template read from a path has no escapes: every "{}" in it is a placeholder.
    return format_pieces(args[0].split("{}"), args[1:])


def _string_to_json(env: Env, args: Sequence[Any]) -> Any:
    try:
        return json.loads(args[0]) if args[0].strip() else None
    except ValueError as exc:
        _fail("States.StringToJson", f"argument 1 (jsonString) is not valid JSON: {exc}")


def _json_to_string(env: Env, args: Sequence[Any]) -> str:
    _within_limit("States.JsonToString", 0, args[0])
    return json.dumps(args[0], separators=(",", ":"), ensure_ascii=False)


def _array(env: Env, args: Sequence[Any]) -> list[Any]:
    return list(args)


def _array_partition(env: Env, args: Sequence[Any]) -> list[list[Any]]:
    array, size = args[0], _integer(args[1])
    if size <= 0:
        _fail("States.ArrayPartition", f"argument 2 (chunkSize) must be positive, got {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _within_limit(function: str, index: int, value: Any) -> None:
    """Fail ``function`` when its argument ``index`` (0-based), written as JSON, would be
    larger than a state's data may be: such a value repeats a part many times over
    (``States.Array($, $, ...)``), and writing or comparing it would cost that many times a
    payload."""
    if longer_than(value, MAX_PAYLOAD_BYTES):
        name = SIGNATURES[function].argument(index)[0]
        _fail(
            function,
            f"argument {index + 1} ({name}) is larger than {MAX_PAYLOAD_BYTES} bytes "
            "written as JSON, the service limit of a state's data",
        )


def _array_contains(env: Env, args: Sequence[Any]) -> bool:
    _within_limit("States.ArrayContains", 0, args[0])
    _within_limit("States.ArrayContains", 1, args[1])
    wanted = _canonical(args[1])
    return any(_canonical(item) == wanted for item in args[0])


def _array_range(env: Env, args: Sequence[Any]) -> list[int]:
    start, end, step = (_integer(value) for value in args)
    if step == 0:
        _fail("States.ArrayRange", "argument 3 (step) must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE_ITEMS:
        _fail(
            "States.ArrayRange",
            f"the range has {count} items; an array may hold at most {MAX_RANGE_ITEMS}",
        )
    return [start + i * step for i in range(count)]


def _array_get_item(env: Env, args: Sequence[Any]) -> Any:
    array, index = args[0], args[1]
    if isinstance(index, float) and not index.is_integer():
        _fail("States.ArrayGetItem", f"argument 2 (index) must be an integer, got {index}")
    index = int(index)
    if not 0 <= index < len(array):
        _fail(
            "States.ArrayGetItem",
            f"argument 2 (index) {index} is out of bounds for an array of {len(array)} items",
        )
    return array[index]


def _array_length(env: Env, args: Sequence[Any]) -> int:
    return len(args[0])


def _array_unique(env: Env, args: Sequence[Any]) -> list[Any]:
    _within_limit("States.ArrayUnique", 0, args[0])
    seen: set[Any] = set()
    unique = []
    for item in args[0]:
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(env: Env, args: Sequence[Any]) -> str:
    text: str = args[0]
    if len(text) > MAX_ENCODE_CHARS:
        _fail(
            "States.Base64Encode",
            f"argument 1 (string) has {len(text)} characters; at most {MAX_ENCODE_CHARS}",
        )
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(env: Env, args: Sequence[Any]) -> str:
    text: str = args[0]
    if len(text) > MAX_ENCODE_CHARS:
        _fail(
            "States.Base64Decode",
            f"argument 1 (base64) has {len(text)} characters; at most {MAX_ENCODE_CHARS}",
        )
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError) as exc:
        _fail("States.Base64Decode", f"argument 1 (base64) is not valid Base64 text: {exc}")


def _hash(env: Env, args: Sequence[Any]) -> str:
    data, algorithm = args
    if len(data) > MAX_HASH_CHARS:
        _fail(
            "States.Hash",
            f"argument 1 (data) has {len(data)} characters; at most {MAX_HASH_CHARS}",
        )
    digest = HASHES.get(algorithm)
    if digest is None:
        _fail(
            "States.Hash",
            f"argument 2 (algorithm) must be one of {', '.join(HASHES)}, got {algorithm!r}",
        )
    return str(digest(data.encode()).hexdigest())


def _json_merge(env: Env, args: Sequence[Any]) -> dict[str, Any]:
    first, second, deep = args
    if deep:
        _fail(
            "States.JsonMerge",
            "argument 3 (deepMerge) must be false: Step Functions only merges shallowly",
        )
    return {**first, **second}


def _math_random(env: Env, args: Sequence[Any]) -> int:
    start, end = _integer(args[0]), _integer(args[1])
    if start >= end:
        _fail(
            "States.MathRandom",
            f"argument 1 (start) {start} must be less than argument 2 (end) {end}",
        )
    generator = Random(_integer(args[2])) if len(args) == 3 else env.random
    # The start is inclusive and the end exclusive.
    return generator.randrange(start, end)


def _math_add(env: Env, args: Sequence[Any]) -> int:
    values = [_integer(value) for value in args]
    for index, value in enumerate(values):
        if not INT32_MIN <= value <= INT32_MAX:
            _fail(
                "States.MathAdd",
                f"argument {index + 1} (value{index + 1}) {value} is outside the range "
                f"{INT32_MIN} to {INT32_MAX}",
            )
    return values[0] + values[1]


def _string_split(env: Env, args: Sequence[Any]) -> list[str]:
    # Each character of the splitter is a delimiter; empty tokens are dropped.
    text, delimiters = args
    if not delimiters:
        return [text] if text else []
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        if char in delimiters:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(env: Env, args: Sequence[Any]) -> str:
    return str(uuid.UUID(int=env.random.getrandbits(128), version=4))


FUNCTIONS: dict[str, Callable[[Env, Sequence[Any]], Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
