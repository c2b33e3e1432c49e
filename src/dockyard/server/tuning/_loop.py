"""The leader-locked loop that drives every tuning job (one server drives them; see
:mod:`dockyard.server.tuning._controller` for a pass). It holds no CPU: trials are jobs the
scheduler runs. Appends to the event log (a trial's job ending) wake it once they commit."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from dockyard.server.events import EventLog, type_in
from dockyard.server.loops import BackgroundLoop
from dockyard.server.store import Database
from dockyard.server.tuning._controller import TuningController
from dockyard.server.tuning._service import TuningService

__all__ = ["TuningLoop"]

log = logging.getLogger("dockyard.server.tuning")

#: While trials run, appends of these wake the loop (a trial's job ending, its metrics).
_TRIAL_EVENTS = ("job.*", "run.logged")


class TuningLoop(BackgroundLoop):
    """Advances each tuning job in progress every ``interval_s`` and whenever an event is
    appended in this process."""

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
        events.on_append(self._nudge)

    def _nudge(self, type: str) -> None:
        # A new or stopped tuning job, and, while trials run, their jobs' changes and metrics.
        if type.startswith("tuning.") or (self._active and type_in(_TRIAL_EVENTS, type)):
            self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        active = self._service.active()
        self._active = bool(active)
        for row in active:
            try:
                self._controller.advance(row)
            except Exception:  # one tuning job's trouble never holds up the others
                log.exception("tuning job %s: a pass failed", row.name)
        return self._interval
