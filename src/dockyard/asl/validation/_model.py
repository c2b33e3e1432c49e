"""The shapes rules look at, the walk that finds them, and the rule registry.

A definition is a tree of *machines* (the top level, each Parallel branch, each Map's
ItemProcessor or Iterator), each holding *states*. A rule is a small function registered for
one scope: the whole ``definition`` (once), each ``machine`` or each ``state``; it yields
:class:`Problem` values whose paths point into the user's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from dockyard.asl.validation._problems import ERROR, SCHEMA, WARNING, Problem

__all__ = [
    "JSONATA",
    "JSONPATH",
    "RULES",
    "Machine",
    "Rule",
    "State",
    "error",
    "machines",
    "rule",
    "warning",
]

JSONPATH = "JSONPath"
JSONATA = "JSONata"
Scope = Literal["definition", "machine", "state"]


@dataclass(frozen=True)
class Machine:
    """An object with ``StartAt`` and ``States``; ``path`` is its JSON pointer ("" at the
    top), ``language`` the query language its states inherit, ``depth`` 0 at the top."""

    body: Mapping[str, Any]
    path: str
    language: str
    depth: int
    kind: Literal["top", "branch", "processor"]

    def states(self) -> Iterator[State]:
        states = self.body.get("States")
        if not isinstance(states, dict):
            return
        for name, body in states.items():
            if isinstance(body, dict):
                yield State(name, body, f"{self.path}/States/{name}", self)

    def names(self) -> set[str]:
        states = self.body.get("States")
        return set(states) if isinstance(states, dict) else set()


@dataclass(frozen=True)
class State:
    name: str
    body: Mapping[str, Any]
    path: str
    machine: Machine

    @cached_property
    def type(self) -> str:
        value = self.body.get("Type")
        return value if isinstance(value, str) else ""

    @cached_property
    def language(self) -> str:
        value = self.body.get("QueryLanguage")
        return value if value in (JSONPATH, JSONATA) else self.machine.language

    def at(self, *parts: str | int) -> str:
        """The pointer of a field of this state: ``state.at("Retry", 0, "MaxAttempts")``."""
        return "/".join([self.path, *(str(p) for p in parts)])

    def children(self) -> Iterator[Machine]:
        """The machines nested in this state: Parallel branches, a Map's processor."""
        depth = self.machine.depth + 1
        if self.type == "Parallel" and isinstance(self.body.get("Branches"), list):
            for index, branch in enumerate(self.body["Branches"]):
                if isinstance(branch, dict):
                    yield Machine(
                        branch, self.at("Branches", index), self.language, depth, "branch"
                    )
        if self.type == "Map":
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(self.body.get(key), dict):
                    yield Machine(self.body[key], self.at(key), self.language, depth, "processor")


def machines(definition: Mapping[str, Any]) -> Iterator[Machine]:
    """Every machine of ``definition``, the top level first, then depth first."""
    language = definition.get("QueryLanguage")
    top = Machine(
        definition, "", language if language in (JSONPATH, JSONATA) else JSONPATH, 0, "top"
    )
    pending = [top]
    while pending:
        machine = pending.pop(0)
        yield machine
        for state in machine.states():
            pending.extend(state.children())


#: Fields that read a value as written, each with a twin that reads it from the input
#: (``Seconds`` and ``SecondsPath``).
PATH_TWINS = (
    "Seconds",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "MaxConcurrency",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Error",
    "Cause",
)


def error(path: str, message: str, code: str = SCHEMA) -> Problem:
    """An error at ``path``; a message about a value ("must be ...") gets the field's name,
    and a path given to a field that takes its value as written names the field that reads
    it from the input."""
    if message.startswith("must "):
        field = path.rsplit("/", 1)[-1]
        message = f'The field "{field}" {message}' if not field.isdigit() else f"The item {message}"
        if field in PATH_TWINS and "got the string '$" in message:
            message += f': to read it from the input, name the field "{field}Path"'
    return Problem(code, path, message, ERROR)


def warning(path: str, message: str, code: str) -> Problem:
    return Problem(code, path, message, WARNING)


@dataclass(frozen=True)
class Rule:
    """A check: ``name`` says what it holds to (``retry-backoff-rate``), ``scope`` what it is
    given."""

    name: str
    scope: Scope
    check: Callable[[Any], Iterable[Problem]]


RULES: list[Rule] = []


def rule(scope: Scope, name: str) -> Callable[[Callable[[Any], Iterable[Problem]]], Any]:
    """Register the decorated function as the rule ``name`` for ``scope``."""

    def register(check: Callable[[Any], Iterable[Problem]]) -> Callable[[Any], Any]:
        if any(existing.name == name for existing in RULES):
            raise ValueError(f"two validation rules are named {name!r}")
        RULES.append(Rule(name, scope, check))
        return check

    return register
