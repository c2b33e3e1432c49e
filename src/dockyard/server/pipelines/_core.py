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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

__all__ = ["Core", "HistoryEventLike", "ModuleCore", "Problem", "StepLike", "load_core"]


class HistoryEventLike(Protocol):
    """An event as the core records it. It may also say which event led to it
    (``previous_event_id``, stored as its ``previousEventId``); one that does not follows the
    event just before it."""

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
    """One finding of validation (an ERROR refuses the definition; a WARNING does not)."""

    @property
    def code(self) -> str: ...

    @property
    def severity(self) -> str: ...

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
        found: Sequence[Problem] = self._m.validate(definition)
        return found

    def parse(self, text: str) -> dict[str, Any]:
        parsed: dict[str, Any] = self._m.parse_definition(text)
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
