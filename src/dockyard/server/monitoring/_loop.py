"""The leader-locked loop that drives every monitoring schedule (one server drives them; see
:mod:`dockyard.server.monitoring._driver` for a pass). Its jobs are the scheduler's; a job's
ending and a schedule's change (a run asked for, a new baseline) wake it once they commit.

The clock is injectable (``clock``: ms since the epoch), so tests close an hour without
waiting for one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dockyard.server.events import EventLog, type_in
from dockyard.server.jobs import JOB_ENDED
from dockyard.server.loops import BackgroundLoop
from dockyard.server.monitoring._driver import MonitoringDriver
from dockyard.server.monitoring._service import MonitoringService
from dockyard.server.monitoring._windows import GRACE_S
from dockyard.server.store import Database

__all__ = ["MonitoringLoop"]

log = logging.getLogger("dockyard.server.monitoring")

#: What wakes the loop: a job ending (while a monitoring job runs), a schedule's change.
_WAKE_ON = (JOB_ENDED, "monitoring.*")


def _wall_clock() -> int:
    return time.time_ns() // 1_000_000


class MonitoringLoop(BackgroundLoop):
    """Claims ended windows, submits their jobs and records them, every ``interval_s`` and
    whenever what it acts on commits."""

    name = "monitoring"
    interval_s = 5.0

    def __init__(
        self,
        service: MonitoringService,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        interval_s: float | None = None,
        grace_s: float = GRACE_S,
        clock: Callable[[], int] = _wall_clock,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake)
        self.driver = MonitoringDriver(service, grace_s=grace_s)
        self._events = events
        self._clock = clock
        self._interval = interval_s if interval_s is not None else self.interval_s
        service.wake = self.wake
        events.on_append(self._nudge)

    def _nudge(self, type: str) -> None:
        # Any job's end (a tuning job's trials end many a second) wakes the loop only while a
        # monitoring job runs.
        if type_in(_WAKE_ON, type) and (type != JOB_ENDED or self.driver.following):
            self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        now = self._clock()
        self.driver.advance(now)
        due = self.driver.due
        if due is not None:  # a window held back for the last flush: start it when it may
            return max(0.05, min(self._interval, (due - now) / 1000))
        return self._interval
