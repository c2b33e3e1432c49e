"""The JSONPath subset SageMaker batch transform supports, for input and output filters.

Grammar (SageMaker's "Supported JSONPath Operators")::

    $                      the whole record
    $.name  $['name']      a child by key (dot or bracket notation), chainable: $.a.b[0]
    $[2]  $[-1]            a child by index (negative counts from the end)
    $[1:]  $[:3]  $[1:3]   a slice (Python semantics, no step)
    $[0,2]  $[0,5:]        a union of indexes and slices, in the order written
    $['a','b']             a union of keys: an object holding just those keys
    $[*]  $.*              every child

A union, slice or wildcard must be the last step (SageMaker does not nest inside them either).
A CSV record is a list of fields, so only positional selections apply to it; a selection of one
index keeps it a row of one field. An index outside the record, or a missing key, is an error
for that record, as in SageMaker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPath", "JsonPathError"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INT = re.compile(r"-?\d+")
_MAX_LENGTH = 1024


class JsonPathError(ValueError):
    """A filter that does not parse, or that does not apply to a record."""


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    stop: int | None


@dataclass(frozen=True, slots=True)
class _Step:
    """One path step: a single key or index (``many=False``) or a union of selectors."""

    selectors: tuple[str | int | _Slice, ...]  # "*" is the wildcard
    many: bool


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed filter; ``JsonPath.parse("$[1:]").select(row)``."""

    text: str
    steps: tuple[_Step, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        """Parse ``text``.

        Raises:
            JsonPathError: Naming the position and what was expected there.
        """
        if len(text) > _MAX_LENGTH:
            raise JsonPathError(f"a filter is at most {_MAX_LENGTH} characters")
        source = text.strip()
        if not source.startswith("$"):
            raise JsonPathError(f"{text!r}: a filter starts with $")
        steps: list[_Step] = []
        position = 1
        while position < len(source):
            if steps and steps[-1].many:
                raise JsonPathError(
                    f"{text!r}: a union, slice or wildcard must be the last step of the path"
                )
            char = source[position]
            if char == ".":
                if source.startswith(".*", position):
                    steps.append(_Step(("*",), many=True))
                    position += 2
                    continue
                match = _NAME.match(source, position + 1)
                if match is None:
                    raise JsonPathError(f"{text!r}: expected a key name at position {position + 1}")
                steps.append(_Step((match.group(),), many=False))
                position = match.end()
            elif char == "[":
                end = _closing_bracket(source, position, text)
                steps.append(_bracket(source[position + 1 : end], text))
                position = end + 1
            else:
                raise JsonPathError(f"{text!r}: unexpected {char!r} at position {position}")
        return cls(text, tuple(steps))

    @property
    def is_identity(self) -> bool:
        """Whether this is ``$`` (the record unchanged)."""
        return not self.steps

    def selects_by_position(self) -> bool:
        """Whether the filter applies to a CSV row: ``$``, or one step of indexes/slices/``*``."""
        if self.is_identity:
            return True
        if len(self.steps) != 1:
            return False
        return all(not isinstance(s, str) or s == "*" for s in self.steps[0].selectors)

    def selects_columns(self) -> bool:
        """Whether the filter picks columns of a table (Parquet): one step of any selector."""
        return len(self.steps) <= 1

    def positions(self, width: int, names: Sequence[str] | None = None) -> list[int]:
        """The column positions selected from a row of ``width`` fields (named ``names``).

        Raises:
            JsonPathError: An index outside the row, or a name that is not a column.
        """
        if self.is_identity:
            return list(range(width))
        return _positions(self.steps[0], width, names)

    def select(self, value: Any) -> Any:
        """Apply the filter to a JSON value (a CSV row is a list of fields).

        Raises:
            JsonPathError: A key or index the value does not have (the message does not repeat
                the path; callers say which filter it was).
        """
        for step in self.steps:
            if not step.many:
                value = _child(value, step.selectors[0])
                continue
            if isinstance(value, Mapping):
                if step.selectors == ("*",):
                    return dict(value)
                picked = {}
                for selector in step.selectors:
                    if not isinstance(selector, str):
                        raise JsonPathError(f"an object has no index {selector}")
                    picked[selector] = _child(value, selector)
                return picked
            if isinstance(value, list):
                return [value[i] for i in _positions(step, len(value), None)]
            raise JsonPathError(f"cannot select fields from {_kind(value)}")
        return value


def _positions(step: _Step, width: int, names: Sequence[str] | None) -> list[int]:
    out: list[int] = []
    for selector in step.selectors:
        if selector == "*":
            out.extend(range(width))
        elif isinstance(selector, _Slice):
            out.extend(range(width)[selector.start : selector.stop])
        elif isinstance(selector, int):
            out.append(_index(selector, width))
        else:
            if names is None:
                raise JsonPathError(f"a CSV record has no field {selector!r}")
            try:
                out.append(list(names).index(selector))
            except ValueError:
                raise JsonPathError(f"no column {selector!r}") from None
    return out


def _closing_bracket(source: str, start: int, text: str) -> int:
    quote: str | None = None
    for index in range(start + 1, len(source)):
        char = source[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "]":
            return index
    raise JsonPathError(f"{text!r}: '[' at position {start} is never closed")


def _bracket(body: str, text: str) -> _Step:
    selectors: list[str | int | _Slice] = []
    for raw in _split_union(body, text):
        item = raw.strip()
        if not item:
            raise JsonPathError(f"{text!r}: empty selector in [{body}]")
        if item == "*":
            selectors.append("*")
        elif item[0] in "'\"":
            if len(item) < 2 or item[-1] != item[0]:
                raise JsonPathError(f"{text!r}: unterminated quoted key {item}")
            selectors.append(item[1:-1])
        elif ":" in item:
            parts = [p.strip() for p in item.split(":")]
            if len(parts) != 2 or any(p and not _INT.fullmatch(p) for p in parts):
                raise JsonPathError(f"{text!r}: a slice is [start:end] with integers, not {item}")
            start, stop = (int(p) if p else None for p in parts)
            selectors.append(_Slice(start, stop))
        elif _INT.fullmatch(item):
            selectors.append(int(item))
        else:
            raise JsonPathError(f"{text!r}: {item!r} is not an index, slice, '*' or quoted key")
    kinds = {isinstance(s, str) and s != "*" for s in selectors}
    if len(kinds) > 1:
        raise JsonPathError(f"{text!r}: do not mix keys with indexes in one [...]")
    single = len(selectors) == 1 and not isinstance(selectors[0], _Slice) and selectors[0] != "*"
    return _Step(tuple(selectors), many=not single)


def _split_union(body: str, text: str) -> list[str]:
    parts: list[str] = []
    quote: str | None = None
    current = ""
    for char in body:
        if quote is not None:
            current += char
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current += char
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _index(index: int, width: int) -> int:
    resolved = index + width if index < 0 else index
    if not 0 <= resolved < width:
        raise JsonPathError(f"index {index} is outside a record of {width} fields")
    return resolved


def _child(value: Any, key: str | int | _Slice) -> Any:
    if isinstance(key, str):
        if not isinstance(value, Mapping):
            raise JsonPathError(f"key {key!r} needs an object, found {_kind(value)}")
        if key not in value:
            raise JsonPathError(f"the record has no key {key!r}")
        return value[key]
    if isinstance(key, int):
        if not isinstance(value, list):
            raise JsonPathError(f"index {key} needs an array, found {_kind(value)}")
        return value[_index(key, len(value))]
    raise JsonPathError("a slice must be the last step")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a scalar"
