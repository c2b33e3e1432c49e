"""The leader-locked loop that drives every tuning job (one server drives them; see
:mod:`dockyard.server.tuning._controller` for a pass). It holds no CPU: trials are jobs the
scheduler runs. Appends to the event log (a trial's job ending) wake it at once."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from dockyard.server.events import EventLog
from dockyard.server.loops import BackgroundLoop
from dockyard.server.store import Database
from dockyard.server.tuning._controller import TuningController
from dockyard.server.tuning._service import TuningService

__all__ = ["TuningLoop"]

log = logging.getLogger("dockyard.server.tuning")

#: Appends notify just before their transaction commits: a pass woken by one looks again soon.
_SOON_S = 0.05


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
        self._nudged = False
        events.on_append(self._nudge)

    def _nudge(self) -> None:
        self._nudged = True
        self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        nudged, self._nudged = self._nudged, False
        active = self._service.active()
        for row in active:
            try:
                self._controller.advance(row)
            except Exception:  # one tuning job's trouble never holds up the others
                log.exception("tuning job %s: a pass failed", row.name)
        return _SOON_S if nudged and active else self._interval
