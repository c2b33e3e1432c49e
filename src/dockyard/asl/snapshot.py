"""Copying an execution's snapshot cheaply: only what a call changes is copied.

``advance`` must not change the snapshot it is given (the same snapshot and completions give
the same Step), but a Map waiting on 10,000 tasks has a snapshot of megabytes, and copying all
of it to settle one task would cost more than the work. So a call copies the top level and
the thread table, and a thread only when it is first read; JSON values (inputs, outputs,
variables' values) are never changed in place by the interpreter, so they are shared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Threads", "copy_snapshot"]


def _own(thread: dict[str, Any]) -> dict[str, Any]:
    """A thread the call may change: its dict and the containers the interpreter updates."""
    copy = dict(thread)
    copy["tries"] = dict(thread["tries"])
    copy["vars"] = dict(thread["vars"])
    fan = thread.get("fan")
    if fan is not None:
        fan = dict(fan)
        for name in ("marks", "res", "items"):
            if fan.get(name) is not None:
                fan[name] = list(fan[name])
        copy["fan"] = fan
    return copy


class Threads(dict[str, dict[str, Any]]):
    """The thread table of one call: a thread read from it is a private copy."""

    def __init__(self, source: Mapping[str, dict[str, Any]]) -> None:
        super().__init__(source)
        self._owned: set[str] = set()

    def __getitem__(self, tid: str) -> dict[str, Any]:
        thread = super().__getitem__(tid)
        if tid not in self._owned:
            thread = _own(thread)
            super().__setitem__(tid, thread)
            self._owned.add(tid)
        return thread

    def get(self, tid: str, default: Any = None) -> Any:
        if tid not in self:
            return default
        return self[tid]

    def __setitem__(self, tid: str, thread: dict[str, Any]) -> None:
        self._owned.add(tid)
        super().__setitem__(tid, thread)

    def owned_values(self) -> Iterator[dict[str, Any]]:
        for tid in list(self.keys()):
            yield self[tid]

    def plain(self) -> dict[str, dict[str, Any]]:
        return dict(self.items())


def copy_snapshot(state: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot this call may change without touching ``state``."""
    copy = dict(state)
    context = state["context"]
    copy["context"] = {**context, "Execution": dict(context["Execution"])}
    copy["threads"] = Threads(state["threads"])
    copy["waits"] = dict(state["waits"])
    return copy
