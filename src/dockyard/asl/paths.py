"""JSONPath as the States Language uses it.

A path starts at one of three roots::

    $...        the data (a state's input, a task's result...)
    $$...       the context object (Execution, StateMachine, State, Task, Map)
    $name...    a workflow variable (JSONPath mode's ``Assign``)

then takes segments::

    .name  ['name']  ["a","b"]     members
    [0]  [-1]  [0,2]              array elements
    [*]  .*                       every element or member value
    [1:5]  [::2]                  slices (Python's rules)
    [?(@.price < 10 && @.tag)]    filters: == != < <= > >=, && || !, parentheses, existence
    ..name  ..[0]  ..*            descendants

A *definite* path (only single members and indices) selects one value or nothing; any other
path selects a list, possibly empty, as Jayway's JSONPath (the library AWS uses) does.
A *reference path* (ResultPath, Choice's Variable) is a definite path.

Parsed paths are cached: a Map over 10,000 items parses its ItemSelector's paths once.

Descendants of descendants select a value once for each ancestor it has (``$..*..*..*..*``
over a hundred nested lists: four million values), so a path may visit at most
:data:`MAX_VISITED` values: one that would visit more is ``States.Runtime``, naming the path.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from dockyard.asl.errors import RESULT_PATH_MATCH_FAILURE, StatesError, runtime

__all__ = [
    "MISSING",
    "Path",
    "find",
    "parse_path",
    "put",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What a definite path selects when nothing is there (``None`` is JSON's null)."""

#: The values a path may select and walk through: a state's data holds 256 KiB, a few hundred
#: thousand values at most, so only a path selecting values again and again reaches this.
MAX_VISITED = 1_000_000

# A segment is a small tuple: ("key", name) ("index", i) ("keys", names) ("indices", ints)
# ("wild",) ("slice", start, stop, step) ("filter", predicate) ("desc", inner segment).
Segment = tuple[Any, ...]
Predicate = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    root: str  # "$" data, "$$" context, anything else names a variable
    segments: tuple[Segment, ...]
    definite: bool

    @property
    def steps(self) -> list[str | int]:
        """A definite path's members and indices, in order."""
        return [segment[1] for segment in self.segments]


_NAME = re.compile(r"[^.\[\]\s()'\"]+")
_ROOT = re.compile(r"\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$")


@lru_cache(maxsize=4096)
def parse_path(text: str) -> Path:
    """Parse ``text``; a malformed path is a ``States.Runtime`` error naming it."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise runtime(f"Invalid path '{text}': a path starts with '$'")
    root_match = _ROOT.match(text)
    assert root_match is not None
    root = root_match.group()
    parser = _Parser(text, root_match.end())
    segments = parser.segments()
    definite = all(segment[0] in ("key", "index") for segment in segments)
    return Path(text, root, tuple(segments), definite)


class _Parser:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def fail(self, why: str) -> StatesError:
        return runtime(f"Invalid path '{self.text}': {why} at character {self.pos + 1}")

    def segments(self) -> list[Segment]:
        found: list[Segment] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if text.startswith("..", self.pos):
                self.pos += 2
                if self.pos < len(text) and text[self.pos] == "[":
                    found.append(("desc", self.bracket()))
                else:
                    found.append(("desc", self.dotted()))
            elif char == ".":
                self.pos += 1
                found.append(self.dotted())
            elif char == "[":
                found.append(self.bracket())
            else:
                raise self.fail(f"unexpected {char!r}")
        return found

    def dotted(self) -> Segment:
        if self.text.startswith("*", self.pos):
            self.pos += 1
            return ("wild",)
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a member name")
        self.pos = match.end()
        return ("key", match.group())

    def bracket(self) -> Segment:
        text = self.text
        close = _matching_bracket(text, self.pos)
        if close < 0:
            raise self.fail("unclosed '['")
        inner = text[self.pos + 1 : close].strip()
        start = self.pos
        self.pos = close + 1
        if inner == "*":
            return ("wild",)
        if inner.startswith("?(") and inner.endswith(")"):
            return ("filter", _compile_filter(inner[2:-1], text))
        if inner[:1] in ("'", '"'):
            names = _split_quoted(inner)
            if names is None:
                self.pos = start
                raise self.fail("bad quoted member name")
            return ("key", names[0]) if len(names) == 1 else ("keys", tuple(names))
        if ":" in inner:
            parts = inner.split(":")
            if len(parts) > 3:
                self.pos = start
                raise self.fail("a slice has at most three parts")
            try:
                bounds = [int(part) if part.strip() else None for part in parts]
            except ValueError:
                self.pos = start
                raise self.fail("slice bounds are integers") from None
            bounds += [None] * (3 - len(bounds))
            return ("slice", *bounds)
        try:
            indices = tuple(int(part) for part in inner.split(","))
        except ValueError:
            self.pos = start
            raise self.fail(f"bad subscript [{inner}]") from None
        return ("index", indices[0]) if len(indices) == 1 else ("indices", indices)


def _matching_bracket(text: str, start: int) -> int:
    depth, quote = 0, ""
    for pos in range(start, len(text)):
        char = text[pos]
        if quote:
            if char == "\\":
                continue
            if char == quote and text[pos - 1] != "\\":
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return pos
    return -1


def _split_quoted(inner: str) -> list[str] | None:
    names: list[str] = []
    pos = 0
    while pos < len(inner):
        quote = inner[pos]
        if quote not in ("'", '"'):
            return None
        end = pos + 1
        chars: list[str] = []
        while end < len(inner) and inner[end] != quote:
            if inner[end] == "\\" and end + 1 < len(inner):
                end += 1
            chars.append(inner[end])
            end += 1
        if end >= len(inner):
            return None
        names.append("".join(chars))
        pos = end + 1
        while pos < len(inner) and inner[pos] in " ,":
            pos += 1
    return names


# -- evaluation ------------------------------------------------------------------------------


def find(path: Path | str, data: Any, *, context: Any = None, variables: Any = None) -> Any:
    """What ``path`` selects: one value (or :data:`MISSING`) for a definite path, a list for
    any other. ``variables`` maps names to values (a Mapping, or a callable name -> value
    returning MISSING for unknown names)."""
    if isinstance(path, str):
        path = parse_path(path)
    root = path.root
    if root == "$":
        doc = data
    elif root == "$$":
        doc = context
    else:
        doc = _variable(variables, root[1:])
        if doc is MISSING:
            return MISSING if path.definite else []
    if path.definite:
        for segment in path.segments:
            doc = _step(doc, segment[1])
            if doc is MISSING:
                return MISSING
        return doc
    nodes = [doc]
    outer: _Budget | None = getattr(_visiting, "budget", None)
    # A filter's paths (``$[?(@..*..*)]``) spend the budget of the path they filter for: each
    # with its own, a list of items would multiply the limit by its length.
    budget = outer or _Budget(path.text)
    _visiting.budget = budget
    try:
        for segment in path.segments:
            nodes = _apply(segment, nodes, data, budget)
            budget.spend(len(nodes))
    finally:
        _visiting.budget = outer
    return nodes


# The budget of the path being followed in this thread, if any (see find).
_visiting = threading.local()


class _Budget:
    """The values a path has visited so far, against :data:`MAX_VISITED`."""

    __slots__ = ("left", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.left = MAX_VISITED

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise runtime(
                f"The path '{self.text}' visits more than {MAX_VISITED} values "
                "(descendants of descendants select each value again for each ancestor)"
            )


def _variable(variables: Any, name: str) -> Any:
    if variables is None:
        return MISSING
    if callable(variables):
        return variables(name)
    return variables.get(name, MISSING)


def _step(doc: Any, step: str | int) -> Any:
    if isinstance(step, str):
        if isinstance(doc, dict):
            return doc.get(step, MISSING)
        return MISSING
    if isinstance(doc, list) and -len(doc) <= step < len(doc):
        return doc[step]
    return MISSING


def _apply(segment: Segment, nodes: list[Any], root: Any, budget: _Budget) -> list[Any]:
    kind = segment[0]
    out: list[Any] = []
    if kind in ("key", "index"):
        for node in nodes:
            value = _step(node, segment[1])
            if value is not MISSING:
                out.append(value)
    elif kind in ("keys", "indices"):
        for node in nodes:
            for step in segment[1]:
                value = _step(node, step)
                if value is not MISSING:
                    out.append(value)
    elif kind == "wild":
        for node in nodes:
            if isinstance(node, dict):
                out.extend(node.values())
            elif isinstance(node, list):
                out.extend(node)
    elif kind == "slice":
        for node in nodes:
            if isinstance(node, list):
                out.extend(node[slice(segment[1], segment[2], segment[3])])
    elif kind == "filter":
        predicate: Predicate = segment[1]
        for node in nodes:
            if isinstance(node, list):
                out.extend(item for item in node if predicate(item, root))
            elif isinstance(node, dict) and predicate(node, root):
                out.append(node)
    else:  # desc
        for node in nodes:
            descendants = _descendants(node)
            budget.spend(len(descendants))
            for descendant in descendants:
                out.extend(_apply(segment[1], [descendant], root, budget))
    return out


def _descendants(node: Any) -> list[Any]:
    found = [node]
    stack_index = 0
    while stack_index < len(found):
        current = found[stack_index]
        stack_index += 1
        if isinstance(current, dict):
            found.extend(current.values())
        elif isinstance(current, list):
            found.extend(current)
    return found


# -- ResultPath --------------------------------------------------------------------------------


def put(path: str, data: Any, value: Any) -> Any:
    """``data`` with ``value`` placed at the reference path ``path`` (ResultPath): a new
    document that shares what it does not change; missing objects on the way are created.
    A step through something that is not an object is ``States.ResultPathMatchFailure``."""
    parsed = parse_path(path)
    if parsed.root != "$" or not parsed.definite:
        raise runtime(f"Invalid path '{path}': ResultPath must be a reference path")
    try:
        return _put(parsed.steps, 0, data, value, path)
    except StatesError as exc:
        # AWS names the reference path and the input it could not be applied to; the engine
        # adds the state's name
        shown = _text(data)
        shown = shown if len(shown) <= 256 else shown[:253] + "..."
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ReferencePath {path} to input {shown}: {exc.cause}",
            decorate=True,
        ) from exc


def _put(steps: list[str | int], at: int, node: Any, value: Any, path: str) -> Any:
    if at == len(steps):
        return value
    step = steps[at]
    if isinstance(step, str):
        if node is MISSING:
            node = {}
        if not isinstance(node, dict):
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f'the step "{step}" meets {_text(node)[:80]}, not an object',
            )
        copy = dict(node)
        copy[step] = _put(steps, at + 1, node.get(step, MISSING), value, path)
        return copy
    if not isinstance(node, list) or not -len(node) <= step < len(node):
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f'the step "[{step}]" meets {_text(node)[:80]}, not an array with that index',
        )
    items = list(node)
    items[step] = _put(steps, at + 1, node[step], value, path)
    return items


def _text(value: Any) -> str:
    return "null" if value is MISSING else json.dumps(value, separators=(",", ":"))


# -- filters ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>==|!=|<=|>=|<|>|&&|\|\||!|\(|\))
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<word>true|false|null)
      | (?P<path>[@$][^\s=!<>&|()]*(?:\([^)]*\)[^\s=!<>&|()]*)*)
    )""",
    re.VERBOSE,
)


def _compile_filter(source: str, whole: str) -> Predicate:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None:
            raise runtime(f"Invalid path '{whole}': cannot read the filter at '{source[pos:]}'")
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind or "")
        if kind == "str":
            tokens.append(("lit", text[1:-1].replace("\\'", "'").replace('\\"', '"')))
        elif kind == "num":
            tokens.append(("lit", json.loads(text)))
        elif kind == "word":
            tokens.append(("lit", {"true": True, "false": False, "null": None}[text]))
        elif kind == "path":
            tokens.append(("path", text))
        else:
            tokens.append(("op", text))
    reader = _FilterReader(tokens, whole)
    predicate = reader.disjunction()
    if reader.pos != len(tokens):
        raise runtime(f"Invalid path '{whole}': unexpected text in the filter")
    return predicate


_MISSING_OPERAND: Final = MISSING


class _FilterReader:
    def __init__(self, tokens: list[tuple[str, Any]], whole: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.whole = whole

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take_op(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            return str(token[1])
        return None

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.take_op("||"):
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda item, root: any(part(item, root) for part in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.take_op("&&"):
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda item, root: all(part(item, root) for part in parts)

    def unary(self) -> Predicate:
        if self.take_op("!"):
            inner = self.unary()
            return lambda item, root: not inner(item, root)
        if self.take_op("("):
            inner = self.disjunction()
            if not self.take_op(")"):
                raise runtime(f"Invalid path '{self.whole}': unbalanced parentheses in a filter")
            return inner
        left = self.operand()
        op = self.take_op("==", "!=", "<", "<=", ">", ">=")
        if op is None:
            return lambda item, root: _truthy(left(item, root))
        right = self.operand()
        compare = _COMPARE[op]
        return lambda item, root: compare(left(item, root), right(item, root))

    def operand(self) -> Callable[[Any, Any], Any]:
        token = self.peek()
        if token is None or token[0] == "op":
            raise runtime(f"Invalid path '{self.whole}': a filter is missing an operand")
        self.pos += 1
        if token[0] == "lit":
            literal = token[1]
            return lambda item, root: literal
        text: str = token[1]
        relative = text.startswith("@")
        path = parse_path("$" + text[1:])
        if relative:
            return lambda item, root: find(path, item)
        return lambda item, root: find(path, root)


def _truthy(value: Any) -> bool:
    if value is MISSING:
        return False
    if isinstance(value, list) and not value:
        return False
    return value is not False and value is not None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if left is MISSING or right is MISSING:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if _number(left) and _number(right):
            return test(left, right)
        if isinstance(left, str) and isinstance(right, str):
            return test(left, right)
        return False

    return compare


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda left, right: not _equal(left, right),
    "<": _ordered(lambda left, right: left < right),
    "<=": _ordered(lambda left, right: left <= right),
    ">": _ordered(lambda left, right: left > right),
    ">=": _ordered(lambda left, right: left >= right),
}
