"""The runner's status file: one JSON object per line, appended and fsynced.

The runner writes, the scheduler reads from its last offset. A file (not an HTTP call) carries
status so a job keeps a faithful history while the server restarts, and a reattached server
catches up on everything that happened meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["EventWriter", "read_events"]


class EventWriter:
    """Appends status events to ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path

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


def read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete events after ``offset`` and the offset after the last complete line."""
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
        consumed += len(line)
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a torn line from a crash mid-write carries nothing to trust
    return events, offset + consumed
