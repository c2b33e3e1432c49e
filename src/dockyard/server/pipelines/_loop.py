"""The engine loop: a leader-locked :class:`~dockyard.server.loops.EventConsumer` that carries
out what transitions recorded.

It wakes for new work (a service sets :attr:`Engine.wake` after a transition that scheduled a
task or a timer), for jobs and endpoints changing (``job.status_changed`` and ``endpoint.*``
events: a ``.sync`` task's job ended), and for the soonest timer or heartbeat deadline; at the
latest every ``interval_s``, for changes made by other server processes. Each pass: fire due
timers, expire heartbeats, stop cancelled tasks, start scheduled ones, look at started ones.

On taking the lead (:meth:`reconcile`), background work a crash interrupted is scheduled again;
tasks recorded as scheduled start on the first pass, so a transition committed just before a
crash still has its effects carried out, once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from dockyard.server.events import Event, EventLog
from dockyard.server.loops import EventConsumer
from dockyard.server.pipelines._runner import TaskRunner
from dockyard.server.store import Database

__all__ = ["PipelineEngine"]


class PipelineEngine(EventConsumer):
    """Advances pipeline executions (see the module docstring)."""

    name = "pipeline-engine"
    types: ClassVar[tuple[str, ...]] = ("job.status_changed", "endpoint.*")
    interval_s = 1.0

    def __init__(
        self,
        runner: TaskRunner,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        wake: threading.Event,
        interval_s: float | None = None,
    ) -> None:
        super().__init__(db, home, events, wake=wake)
        self._runner = runner
        self._interval = interval_s or self.interval_s
        self._look = True

    def reconcile(self) -> None:
        self._runner.reschedule_interrupted()

    def handle(self, events: list[Event]) -> None:
        self._look = True  # a job or an endpoint changed: look at the tasks waiting on them

    def tick(self) -> float | None:
        consumed = super().tick()
        runner = self._runner
        runner.fire_timers()
        runner.expire_heartbeats()
        runner.stop_cancelled()
        runner.start_scheduled()
        look, self._look = self._look, False
        if look or consumed is None:
            runner.poll_started()
        pause = self._interval if consumed is None else consumed
        due = runner.next_due()
        if due is not None:
            pause = min(pause, max(0.0, (due - runner.clock()) / 1000))
        return pause

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._runner.close()
