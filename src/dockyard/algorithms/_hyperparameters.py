"""Typed hyperparameters read from the strings SageMaker passes, with errors that name them.

SageMaker hands every hyperparameter to an algorithm as text (``"0.2"``, ``"true"``,
``"rmse,auc"``). A :class:`HyperparameterSet` declares what each name means; :meth:`parse
<HyperparameterSet.parse>` turns the texts into typed values once, refusing unknown names,
missing required ones and values of the wrong type or out of range with
:class:`~dockyard.errors.InvalidArgument` whose ``field`` is ``hyperparameters.<name>``. The job
service calls the same code at submit, so a bad value is refused before anything runs.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from dockyard.errors import InvalidArgument

__all__ = [
    "Hyperparameter",
    "HyperparameterSet",
    "Hyperparameters",
    "Value",
    "boolean",
    "choice",
    "integer",
    "number",
    "refuse",
    "text",
]

Value = int | float | str | bool | tuple[str, ...] | None
Kind = Literal["int", "float", "bool", "choice", "text", "list"]
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def refuse(name: str, message: str, **details: object) -> InvalidArgument:
    """The error for a bad value of hyperparameter ``name``."""
    return InvalidArgument(
        message, field=f"hyperparameters.{name}", details={"hyperparameter": name, **details}
    )


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: how its text is read and which values it may take.

    Args:
        name: The name as users write it.
        kind: ``int``, ``float``, ``bool`` (``true``/``false``/``1``/``0``), ``choice`` (one of
            ``choices``), ``text`` (passed on as written) or ``list`` (comma-separated).
        minimum: Lowest allowed number, exclusive when ``min_open``.
        maximum: Highest allowed number, exclusive when ``max_open``.
        choices: Allowed values of a ``choice``, or of each item of a ``list`` when non-empty.
        auto: ``"auto"`` is accepted and read as ``None`` (the algorithm decides).
        required: The job cannot run without it.
        default: The value used when it is not given.
        check: An extra rule on a ``text`` or ``list`` item: returns what is wrong, or ``None``.
        ignored: Accepted for compatibility but without effect here; the reason, printed as a
            warning when the hyperparameter is given.
        refused: Recognised but not supported here; the reason, given as the error.
    """

    name: str
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple[str, ...] = ()
    auto: bool = False
    required: bool = False
    default: Value = None
    check: Callable[[str], str | None] | None = None
    ignored: str | None = None
    refused: str | None = None

    def describe(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.kind == "bool":
            expected = "true or false"
        elif self.kind == "choice":
            expected = "one of " + ", ".join(self.choices)
        elif self.kind == "list":
            expected = "a comma-separated list" + (
                " of " + ", ".join(self.choices) if self.choices else ""
            )
        elif self.kind == "text":
            expected = "text"
        else:
            expected = ("an integer" if self.kind == "int" else "a number") + self._range()
        return expected + (' or "auto"' if self.auto else "")

    def _range(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left, right = "(" if self.min_open else "[", ")" if self.max_open else "]"
            return f" in {left}{_num(low)}, {_num(high)}{right}"
        if low is not None:
            return f" {'>' if self.min_open else '>='} {_num(low)}"
        if high is not None:
            return f" {'<' if self.max_open else '<='} {_num(high)}"
        return ""

    def parse(self, text: str) -> Value:
        """The typed value of ``text``; raises InvalidArgument naming this hyperparameter."""
        stripped = text.strip()
        if self.auto and stripped.lower() == "auto":
            return None
        value: Value
        if self.kind in ("int", "float"):
            value = self._number(stripped)
        elif self.kind == "bool":
            lowered = stripped.lower()
            if lowered not in _TRUE | _FALSE:
                raise self._bad(text)
            value = lowered in _TRUE
        elif self.kind == "choice":
            if stripped not in self.choices:
                raise self._bad(text, _hint(stripped, self.choices))
            value = stripped
        elif self.kind == "list":
            items = tuple(item.strip() for item in stripped.split(","))
            for item in items:
                if not item or (self.choices and item not in self.choices):
                    raise self._bad(text, f"; {item!r} is not allowed{_hint(item, self.choices)}")
                problem = self.check(item) if self.check else None
                if problem:
                    raise self._bad(text, f"; {problem}")
            value = items
        else:
            problem = self.check(stripped) if self.check else None
            if problem:
                raise self._bad(text, f"; {problem}")
            value = stripped
        return value

    def _number(self, text: str) -> int | float:
        try:
            number = float(text)
        except ValueError:
            raise self._bad(text) from None
        if not math.isfinite(number):
            raise self._bad(text)
        value: int | float = number
        if self.kind == "int":
            # Tuners and some SDKs write whole numbers as "5.0"; that is still the integer 5.
            if not number.is_integer():
                raise self._bad(text)
            value = int(number)
        low, high = self.minimum, self.maximum
        if (low is not None and (number < low or (self.min_open and number == low))) or (
            high is not None and (number > high or (self.max_open and number == high))
        ):
            raise self._bad(text)
        return value

    def _bad(self, text: str, extra: str = "") -> InvalidArgument:
        return refuse(
            self.name,
            f"hyperparameter {self.name!r} must be {self.describe()}, got {text!r}{extra}",
            value=text,
            expected=self.describe(),
        )


@dataclass(frozen=True)
class Hyperparameters:
    """Parsed values by canonical name (defaults filled in) and warnings to print."""

    values: dict[str, Value]
    given: frozenset[str]
    warnings: tuple[str, ...] = ()

    def integer(self, name: str) -> int:
        """An integer hyperparameter that has a value (given or default)."""
        value = self.values[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def number(self, name: str) -> float:
        """A numeric hyperparameter that has a value."""
        value = self.values[name]
        assert isinstance(value, int | float) and not isinstance(value, bool), name
        return float(value)

    def optional_number(self, name: str) -> float | None:
        """A numeric hyperparameter that may be unset or ``auto``."""
        return None if self.values.get(name) is None else self.number(name)

    def text(self, name: str) -> str:
        """A choice or text hyperparameter that has a value."""
        value = self.values[name]
        assert isinstance(value, str), name
        return value

    def flag(self, name: str) -> bool:
        """A boolean hyperparameter that has a value."""
        value = self.values[name]
        assert isinstance(value, bool), name
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """A list hyperparameter; empty when unset."""
        value = self.values.get(name)
        assert value is None or isinstance(value, tuple), name
        return value or ()


Rule = Callable[[Hyperparameters], None]


@dataclass(frozen=True)
class HyperparameterSet:
    """Every hyperparameter an algorithm knows, its aliases, and rules across several values.

    Args:
        algorithm: The algorithm's name, for messages.
        specs: The hyperparameters.
        aliases: Other names for the same hyperparameter (``learning_rate`` -> ``eta``).
        rules: Checks across values; each raises InvalidArgument naming the field at fault.
    """

    algorithm: str
    specs: tuple[Hyperparameter, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every accepted name, aliases included."""
        return tuple(spec.name for spec in self.specs) + tuple(self.aliases)

    def parse(self, hyperparameters: Mapping[str, object]) -> Hyperparameters:
        """Read and check every value; raise InvalidArgument on the first problem.

        Values are SageMaker's strings; numbers and booleans are read as their text, and a
        string JSON-encoded once more (as SageMaker's framework estimators write them) is
        unwrapped.
        """
        by_name = {spec.name: spec for spec in self.specs}
        unknown = [n for n in hyperparameters if n not in by_name and n not in self.aliases]
        if unknown:
            raise self._unknown(unknown)
        values: dict[str, Value] = {spec.name: spec.default for spec in self.specs}
        given: dict[str, str] = {}
        warnings: list[str] = []
        for name, raw in hyperparameters.items():
            canonical = self.aliases.get(name, name)
            if canonical in given:
                raise refuse(
                    name,
                    f"hyperparameters {given[canonical]!r} and {name!r} are the same setting; "
                    "give only one",
                )
            given[canonical] = name
            spec = by_name[canonical]
            if spec.refused:
                raise refuse(name, f"hyperparameter {name!r} is not supported: {spec.refused}")
            values[canonical] = spec.parse(_text(raw))
            if spec.ignored:
                warnings.append(f"hyperparameter {name!r} has no effect here: {spec.ignored}")
        for spec in self.specs:
            if spec.required and spec.name not in given:
                raise refuse(
                    spec.name,
                    f"hyperparameter {spec.name!r} is required by the {self.algorithm} algorithm "
                    f"({spec.describe()})",
                )
        parsed = Hyperparameters(values, frozenset(given), tuple(warnings))
        for rule in self.rules:
            rule(parsed)
        return parsed

    def _unknown(self, names: list[str]) -> InvalidArgument:
        hints = []
        for name in names:
            close = difflib.get_close_matches(name, self.names, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        noun = "hyperparameter" if len(names) == 1 else "hyperparameters"
        return refuse(
            names[0],
            f"unknown {noun} for the {self.algorithm} algorithm: {', '.join(hints)}",
            unknown=names,
        )


def integer(
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    auto: bool = False,
    required: bool = False,
    default: int | None = None,
    ignored: str | None = None,
    refused: str | None = None,
) -> Hyperparameter:
    """An integer in ``[low, high]``."""
    return Hyperparameter(
        name,
        "int",
        minimum=low,
        maximum=high,
        auto=auto,
        required=required,
        default=default,
        ignored=ignored,
        refused=refused,
    )


def number(
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    min_open: bool = False,
    max_open: bool = False,
    auto: bool = False,
    default: float | None = None,
    ignored: str | None = None,
) -> Hyperparameter:
    """A number in ``[low, high]`` (an end is excluded when ``min_open``/``max_open``)."""
    return Hyperparameter(
        name,
        "float",
        minimum=low,
        maximum=high,
        min_open=min_open,
        max_open=max_open,
        auto=auto,
        default=default,
        ignored=ignored,
    )


def choice(
    name: str,
    *choices: str,
    required: bool = False,
    default: str | None = None,
    ignored: str | None = None,
) -> Hyperparameter:
    """One of ``choices``."""
    return Hyperparameter(
        name, "choice", choices=choices, required=required, default=default, ignored=ignored
    )


def boolean(
    name: str, *, auto: bool = False, default: bool | None = None, ignored: str | None = None
) -> Hyperparameter:
    """``true`` or ``false`` (``1``/``0`` too)."""
    return Hyperparameter(name, "bool", auto=auto, default=default, ignored=ignored)


def text(
    name: str, *, check: Callable[[str], str | None] | None = None, ignored: str | None = None
) -> Hyperparameter:
    """Free text, passed on as given once ``check`` (if any) accepts it."""
    return Hyperparameter(name, "text", check=check, ignored=ignored)


def _text(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if not isinstance(raw, str):
        return json.dumps(raw) if isinstance(raw, list | dict) else str(raw)
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            decoded = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(decoded, str):
            return decoded
    return raw


def _num(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _hint(value: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
