"""The leader-locked loop that drives every tuning job (one server drives them; see
:mod:`dockyard.server.tuning._controller` for a pass). It holds no CPU: trials are jobs the
scheduler runs. What a pass acts on wakes it once committed: a tuning job created or stopped,
a trial's job ending, and, for a strategy that stops trials early, their metrics. A job's other
status changes (starting, downloading, uploading) would only cost passes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from dockyard.api.tuning import TuningJobSpec
from dockyard.server.events import EventLog
from dockyard.server.jobs import JOB_ENDED
from dockyard.server.loops import BackgroundLoop
from dockyard.server.store import Database
from dockyard.server.tuning._controller import TuningController
from dockyard.server.tuning._service import TuningService
from dockyard.server.tuning._strategy import stops_early

__all__ = ["TuningLoop"]

log = logging.getLogger("dockyard.server.tuning")

#: What is asked of the loop (the events its own passes append would only wake it again).
_ASKED = ("tuning.started", "tuning.stop_requested")


class TuningLoop(BackgroundLoop):
    """Advances each tuning job in progress every ``interval_s`` and whenever what it acts on
    commits (see the module docstring)."""

    name = "tuning"
    interval_s = 0.5

    def __init__(
        self,
        service: TuningService,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        interval_s: float | None = None,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake)
        self._controller = TuningController(service)
        self._service = service
        self._events = events
        self._interval = interval_s if interval_s is not None else self.interval_s
        self._active = True  # until a pass finds none
        self._metrics = True  # whether an active tuning job stops trials on their metrics
        self._stops_early: dict[str, bool] = {}  # by tuning job id (a spec never changes)
        events.on_append(self._nudge)

    def _nudge(self, type: str) -> None:
        if type in _ASKED or (
            self._active and (type == JOB_ENDED or (self._metrics and type == "run.logged"))
        ):
            self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        active = self._service.active()
        self._active = bool(active)
        known = self._stops_early
        self._stops_early = {
            r.tuning_id: known[r.tuning_id] for r in active if r.tuning_id in known
        }
        self._metrics = any(self._follows_metrics(row) for row in active)
        for row in active:
            try:
                self._controller.advance(row)
            except Exception:  # one tuning job's trouble never holds up the others
                log.exception("tuning job %s: a pass failed", row.name)
        return self._interval

    def _follows_metrics(self, row: Any) -> bool:
        known = self._stops_early.get(row.tuning_id)
        if known is None:
            config = TuningJobSpec.model_validate_json(row.spec).config
            known = self._stops_early[row.tuning_id] = stops_early(config)
        return known
