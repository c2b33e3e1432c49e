"""An update's progress, written by the supervisor and read by ``GET /api/v1/endpoints/{name}``.

The supervisor holds each traffic step on a thread of its own; what the step is, when its bake
ends and how many requests the new configuration answered so far is kept in ``rollout.json`` in
the endpoint's folder, beside ``workers.json``, so any server process on the machine can show it.
It is transient: an update a restart interrupts is rolled back, so nothing needs it after one,
and it is removed when the update ends. Written whole (a temporary file renamed over it): a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from pydantic import ValidationError

from dockyard.api.endpoints import RolloutStep

__all__ = ["clear_progress", "read_progress", "write_progress"]

_FILE = "rollout.json"


def write_progress(folder: Path, step: RolloutStep) -> None:
    """Record the step an update is in."""
    path = folder / _FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(step.model_dump_json())
    temporary.replace(path)


def clear_progress(folder: Path) -> None:
    """Forget the update's progress (it ended)."""
    with contextlib.suppress(FileNotFoundError):
        (folder / _FILE).unlink()


def read_progress(folder: Path, now_ms: int | None = None) -> RolloutStep | None:
    """The step recorded in ``folder``, its ``time_left_s`` counted from ``now_ms``; None when
    no update is being baked."""
    try:
        step = RolloutStep.model_validate_json((folder / _FILE).read_text())
    except (OSError, ValidationError):
        return None
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    until = step.bake_until_time if step.phase == "baking" else step.give_up_time
    return step.model_copy(update={"time_left_s": round(max(0.0, (until - now) / 1000), 1)})
