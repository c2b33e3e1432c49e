"""The syntax of an intrinsic function call, parsed once into a small tree.

Grammar (whitespace is allowed around every token)::

    call     := NAME "(" [ argument ( "," argument )* ] ")"
    NAME     := "States." letters            (one of the names in ``_functions.SIGNATURES``)
    argument := string | number | "true" | "false" | "null" | path | call
    string   := "'" ( char | "\\'" | "\\{" | "\\}" | "\\\\" )* "'"
    path     := "$" ...                      ($ input, $$ context object, $name a variable)

A backslash escapes only ``' { } \\``; any other escape is an error, as AWS says. In a string
literal an unescaped ``{}`` is a States.Format placeholder and an escaped ``\\{\\}`` is the text
``{}``, so a string keeps the pieces between its placeholders (:attr:`Text.pieces`).

A path runs to the next ``,`` or ``)`` outside brackets and quotes, so ``$.a['x,y']`` and
``$..[?(@.n > 1)]`` are one argument; its syntax is the path evaluator's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from dockyard.errors import InvalidArgument

__all__ = ["MAX_NESTING", "Call", "IntrinsicSyntaxError", "Path", "Text", "Value", "parse"]

# "You can nest up to 10 intrinsic functions within a field" (AWS).
MAX_NESTING = 10

_ESCAPABLE = "'{}\\"


class IntrinsicSyntaxError(InvalidArgument):
    """The text is not a well-formed intrinsic call; ``details`` has the 1-based column."""

    def __init__(self, text: str, column: int, problem: str) -> None:
        super().__init__(
            f"invalid intrinsic function at column {column}: {problem} in {text!r}",
            details={"column": column},
        )
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class Value:
    """A JSON literal: a number, ``true``, ``false`` or ``null``."""

    value: Any


@dataclass(frozen=True)
class Text:
    """A string literal with its escapes resolved; ``pieces`` are the parts between unescaped
    ``{}`` placeholders (one piece when there is none)."""

    value: str
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class Path:
    """A JSONPath (``$.x``), a context-object path (``$$.Execution.Id``) or a variable
    (``$name.field``), resolved against the data when the call runs."""

    path: str


@dataclass(frozen=True)
class Call:
    """``name(arguments...)``; ``column`` (1-based) is where the name starts in the text."""

    name: str
    arguments: tuple[Argument, ...]
    column: int


Argument = Value | Text | Path | Call


def parse(text: str, known: frozenset[str]) -> Call:
    """The call tree of ``text``; :class:`IntrinsicSyntaxError` names the column at fault.
    ``known`` holds the function names that exist."""
    parser = _Parser(text, known)
    call = parser.call(depth=1)
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("unexpected text after the closing parenthesis")
    return call


class _Parser:
    def __init__(self, text: str, known: frozenset[str]) -> None:
        self.text = text
        self.known = known
        self.pos = 0

    def fail(self, problem: str, at: int | None = None) -> NoReturn:
        raise IntrinsicSyntaxError(self.text, (self.pos if at is None else at) + 1, problem)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def call(self, depth: int) -> Call:
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "._"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            self.fail("expected a function name such as States.Format")
        if name not in self.known:
            self.fail(f"unknown intrinsic function {name!r}", at=start)
        if depth > MAX_NESTING:
            self.fail(f"more than {MAX_NESTING} nested intrinsic functions", at=start)
        self.skip_space()
        if self.peek() != "(":
            self.fail(f"expected '(' after {name}")
        self.pos += 1
        arguments: list[Argument] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
            return Call(name, (), start + 1)
        while True:
            arguments.append(self.argument(depth))
            self.skip_space()
            char = self.peek()
            if char == ",":
                self.pos += 1
                continue
            if char == ")":
                self.pos += 1
                return Call(name, tuple(arguments), start + 1)
            if not char:
                self.fail(f"missing ')' to close {name}")
            self.fail(f"expected ',' or ')' in the arguments of {name}")

    def argument(self, depth: int) -> Argument:
        self.skip_space()
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if char == "-" or char.isdigit():
            return self.number()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "._"
        ):
            self.pos += 1
        word = self.text[start : self.pos]
        if word in ("true", "false", "null"):
            return Value({"true": True, "false": False, "null": None}[word])
        if word:
            self.pos = start
            return self.call(depth + 1)
        if not char or char in ",)":
            self.fail("missing argument")
        self.fail(f"unexpected character {char!r}")

    def string(self) -> Text:
        start = self.pos
        self.pos += 1
        pieces: list[str] = []
        current: list[str] = []
        while True:
            if self.pos >= len(self.text):
                self.fail("unterminated string literal", at=start)
            char = self.text[self.pos]
            if char == "'":
                self.pos += 1
                pieces.append("".join(current))
                return Text("{}".join(pieces), tuple(pieces))
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped or escaped not in _ESCAPABLE:
                    self.fail(
                        "a backslash must escape one of ' { } \\ (an open escape is not allowed)"
                    )
                current.append(escaped)
                self.pos += 2
                continue
            if self.text.startswith("{}", self.pos):
                pieces.append("".join(current))
                current = []
                self.pos += 2
                continue
            current.append(char)
            self.pos += 1

    def number(self) -> Value:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        while self.pos < len(self.text) and (
            self.text[self.pos].isdigit() or self.text[self.pos] in ".eE+-"
        ):
            self.pos += 1
        literal = self.text[start : self.pos]
        try:
            if any(c in literal for c in ".eE"):
                return Value(float(literal))
            return Value(int(literal))
        except ValueError:
            self.fail(f"{literal!r} is not a number", at=start)

    def path(self) -> Path:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (char == "," or char.isspace()):
                break
            self.pos += 1
        if quote:
            self.fail("unterminated quote in a path", at=start)
        return Path(self.text[start : self.pos])
