"""The runner's status outbox: one JSON object per line, appended and fsynced.

The runner (and the transform process it starts) write here; the runner's uplink
(:mod:`dockyard.runtime.runner._uplink`) sends the lines to the server from its last offset. A
local file (not a call each) carries status so a job keeps a faithful history while the server
restarts: what happened meanwhile is sent when it answers again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EventWriter", "read_events"]


class EventWriter:
    """Appends status events to ``path``."""

    def __init__(self, path: Path, on_emit: Callable[[], None] | None = None) -> None:
        self._path = path
        self._on_emit = on_emit

    def emit(self, secondary_status: str, message: str = "", **fields: Any) -> None:
        """A status transition."""
        record = {
            "time": time.time_ns() // 1_000_000,
            "secondary_status": secondary_status,
            "message": message,
            **fields,
        }
        self._append(record)

    def emit_progress(self, progress: dict[str, Any]) -> None:
        """A progress report: updates the job's progress, not its status history."""
        self._append({"time": time.time_ns() // 1_000_000, "progress": progress})

    def _append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self._on_emit is not None:
            self._on_emit()


def read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete events after ``offset`` (each with ``at``, its line's offset) and the offset
    after the last complete line."""
    if not path.exists():
        return [], offset
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    events = []
    consumed = 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # a line still being written
        at = offset + consumed
        consumed += len(line)
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn line from a crash mid-write carries nothing to trust
        if isinstance(record, dict):
            events.append({**record, "at": at})
    return events, offset + consumed
