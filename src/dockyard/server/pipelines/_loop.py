"""The engine loop: a leader-locked :class:`~dockyard.server.loops.EventConsumer` that carries
out what transitions recorded.

It wakes for new work (a service sets :attr:`Engine.wake` after a transition that scheduled a
task or a timer), for a job ending (``job.ended``, announced once its final
``job.status_changed`` commits: what a ``.sync`` task waits for) and endpoints changing
(``endpoint.*``), and for the soonest timer or heartbeat deadline; at the
latest every ``interval_s``, for changes made by other server processes (whose transitions
tell this one at once, through the event log's peers, where the system allows). Each pass: start
scheduled tasks, fire due timers, expire heartbeats, stop cancelled tasks, start scheduled ones
(those the timers asked for), look at started ones. The event log wakes the loop on every
append; a wake that brings neither work (:meth:`Engine.signal`), an event it consumes nor a due
deadline skips the pass.

On taking the lead (:meth:`reconcile`), background work a crash interrupted is scheduled again;
tasks recorded as scheduled start on the first pass, so a transition committed just before a
crash still has its effects carried out, once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

from dockyard.server.events import Event, EventLog
from dockyard.server.jobs import JOB_ENDED
from dockyard.server.loops import EventConsumer
from dockyard.server.pipelines._engine import WORK
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
        self._next_pass = 0.0  # monotonic time of the next full pass, whatever woke the loop
        self._due: int | None = None  # the soonest timer or heartbeat deadline (ms)

    def wants(self, type: str) -> bool:
        if type == WORK:  # another process's transition left work
            self._runner.heard()
            return False  # heard() woke the loop
        if type == JOB_ENDED:  # a task waits on a job's end, not on its other changes
            return True
        return type != "job.status_changed" and super().wants(type)

    def reconcile(self) -> None:
        self._runner.reschedule_interrupted()

    def handle(self, events: list[Event]) -> None:
        self._look = True  # a job or an endpoint changed: look at the tasks waiting on them

    def tick(self) -> float | None:
        consumed = super().tick()
        runner = self._runner
        now = time.monotonic()
        due_now = self._due is not None and runner.clock() >= self._due
        look, self._look = self._look, False
        if runner.take_signal() or look or due_now or now >= self._next_pass:
            # Scheduled tasks first: they are what a transition just asked for.
            runner.start_scheduled()
            runner.fire_timers()
            runner.expire_heartbeats()
            runner.stop_cancelled()
            runner.start_scheduled()
            if look or consumed is None:
                runner.poll_started()
            self._next_pass = time.monotonic() + self._interval
            self._due = runner.next_due()
        # Otherwise an append that left the loop nothing woke it (every append does).
        pause = max(0.0, self._next_pass - time.monotonic())
        if consumed is not None:
            pause = min(pause, consumed)
        if self._due is not None:
            pause = min(pause, max(0.0, (self._due - runner.clock()) / 1000))
        return pause

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._runner.close()
