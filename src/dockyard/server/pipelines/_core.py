"""The States Language core as the engine uses it: one narrow seam over :mod:`dockyard.asl`.

The core is pure (no I/O, no clock): it takes an execution's state and completions and returns a
:class:`Step` (the new state, effects to carry out, history events). This module names the
shapes the engine relies on as protocols, so the engine reads like the contract
(``/notes``: start / advance / redrive, StartTask, CancelTask, StartTimer, CancelTimer) and a
shell-level unit test may hand the engine a small stand-in. Effects are told apart by their
class name, which the contract fixes.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dockyard.errors import InvalidArgument

__all__ = ["Core", "HistoryEventLike", "ModuleCore", "Problem", "StepLike", "load_core"]


class HistoryEventLike(Protocol):
    type: str
    details: dict[str, Any]
    timestamp: datetime


class StepLike(Protocol):
    state: dict[str, Any]
    effects: Sequence[Any]
    events: Sequence[HistoryEventLike]
    status: str
    output: Any | None
    error: str | None
    cause: str | None


class Problem(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def message(self) -> str: ...


class Core(Protocol):
    """What the engine needs of the interpreter (see the module docstring)."""

    def validate(self, definition: Mapping[str, Any]) -> Sequence[Problem]: ...

    def parse(self, text: str) -> dict[str, Any]: ...

    def start(
        self,
        definition: Mapping[str, Any],
        input: Any,
        *,
        context: Mapping[str, Any],
        now: datetime,
        seed: str,
    ) -> StepLike: ...

    def advance(
        self, state: Mapping[str, Any], completions: Sequence[Any], *, now: datetime
    ) -> StepLike: ...

    def redrive(self, state: Mapping[str, Any], *, now: datetime) -> StepLike: ...

    def task_succeeded(self, task_id: str, output: Any) -> Any: ...

    def task_failed(self, task_id: str, error: str, cause: str | None) -> Any: ...

    def timer_fired(self, timer_id: str) -> Any: ...

    def stop_requested(self, error: str | None, cause: str | None) -> Any: ...


class ModuleCore:
    """:class:`Core` over a module with the contract's face (``dockyard.asl``), imported on
    first use: a server that runs no pipeline never loads the interpreter."""

    def __init__(self, module: str) -> None:
        self._name = module
        self._module: Any = None

    @property
    def _m(self) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def validate(self, definition: Mapping[str, Any]) -> Sequence[Problem]:
        try:
            rules = self._m.validate
        except ImportError:  # an installation whose core lacks validation: the basics only
            return _basic_problems(definition)
        found: Sequence[Problem] = rules(definition)
        return found

    def parse(self, text: str) -> dict[str, Any]:
        try:
            parse = self._m.parse_definition
        except ImportError:
            parse = _parse_json
        parsed: dict[str, Any] = parse(text)
        return parsed

    def start(
        self,
        definition: Mapping[str, Any],
        input: Any,
        *,
        context: Mapping[str, Any],
        now: datetime,
        seed: str,
    ) -> StepLike:
        step: StepLike = self._m.start(definition, input, context=context, now=now, seed=seed)
        return step

    def advance(
        self, state: Mapping[str, Any], completions: Sequence[Any], *, now: datetime
    ) -> StepLike:
        step: StepLike = self._m.advance(state, completions, now=now)
        return step

    def redrive(self, state: Mapping[str, Any], *, now: datetime) -> StepLike:
        step: StepLike = self._m.redrive(state, now=now)
        return step

    def task_succeeded(self, task_id: str, output: Any) -> Any:
        return self._m.TaskSucceeded(task_id=task_id, output=output)

    def task_failed(self, task_id: str, error: str, cause: str | None) -> Any:
        return self._m.TaskFailed(task_id=task_id, error=error, cause=cause)

    def timer_fired(self, timer_id: str) -> Any:
        return self._m.TimerFired(timer_id=timer_id)

    def stop_requested(self, error: str | None, cause: str | None) -> Any:
        return self._m.StopRequested(error=error, cause=cause)


def load_core() -> Core:
    """The States Language core of this installation."""
    return ModuleCore("dockyard.asl")


@dataclass(frozen=True)
class _Problem:
    path: str
    message: str


def _parse_json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"the definition is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
            field="definition",
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidArgument("a definition is a JSON object", field="definition")
    return parsed


def _basic_problems(definition: Mapping[str, Any], path: str = "") -> list[_Problem]:
    """StartAt and every Next name states; every state has a Type (branches and Maps too)."""
    states = definition.get("States")
    if not isinstance(states, Mapping) or not states:
        return [_Problem(f"{path}/States", "States must be a non-empty object")]
    found = []
    if definition.get("StartAt") not in states:
        found.append(_Problem(f"{path}/StartAt", "StartAt must name a state"))
    for name, state in states.items():
        here = f"{path}/States/{name}"
        if not isinstance(state, Mapping) or not isinstance(state.get("Type"), str):
            found.append(_Problem(f"{here}/Type", "every state needs a Type"))
            continue
        if "Next" in state and state["Next"] not in states:
            found.append(_Problem(f"{here}/Next", f"Next names no state: {state['Next']!r}"))
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, Mapping):
                found += _basic_problems(branch, f"{here}/Branches/{i}")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                found += _basic_problems(state[key], f"{here}/{key}")
    return found
