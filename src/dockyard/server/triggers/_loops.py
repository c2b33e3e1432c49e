"""The loops that fire triggers (each leads per database: one server fires, the others wait).

- :class:`ScheduleLoop`: schedule triggers whose next slot has come; also submits again the
  firings a crash left pending.
- :class:`ObjectWatcher`: lists the prefixes of object triggers from their cursors.
- :class:`EventTriggers`: an :class:`~dockyard.server.loops.EventConsumer` matching each new event
  against event triggers.

Whatever loop, or how many servers, see a cause, it fires once: the firing's unique key
decides (:meth:`~dockyard.server.triggers._service.TriggerService.fire_cause`). Time comes from an
injectable clock, so tests drive slots without waiting for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import orjson

from dockyard.api.triggers import EventSource, TriggerKind
from dockyard.errors import DockyardError
from dockyard.server.events import Event, EventLog
from dockyard.server.loops import BackgroundLoop, EventConsumer
from dockyard.server.store import Database
from dockyard.server.triggers._service import TriggerService

__all__ = ["Clock", "EventTriggers", "ObjectWatcher", "ScheduleLoop"]

log = logging.getLogger("dockyard.server.triggers")

#: Milliseconds since the epoch, now.
Clock = Callable[[], int]


def _wall() -> int:
    return time.time_ns() // 1_000_000


class ScheduleLoop(BackgroundLoop):
    """Fires schedule triggers whose slot is due, checking at least every ``interval_s``
    (``DOCKYARD_TRIGGER_SCHEDULE_INTERVAL_S``) and sooner when a slot comes first."""

    name = "trigger-schedules"
    interval_s = 5.0

    def __init__(
        self,
        service: TriggerService,
        db: Database,
        home: Path,
        *,
        interval_s: float | None = None,
        clock: Clock = _wall,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake)
        self._service = service
        self._clock = clock
        self._interval = interval_s if interval_s is not None else self.interval_s

    def reconcile(self) -> None:
        self._service.retry_stale(self._clock())

    def tick(self) -> float | None:
        now = self._clock()
        soonest: int | None = None
        for row in self._service.enabled(TriggerKind.SCHEDULE):
            try:
                self._service.fire_schedule(row, now)
            except DockyardError as exc:
                log.warning("trigger %s: %s", row.name, exc.message)
            due = orjson.loads(row.state).get("next_time")
            if isinstance(due, int) and due > now:
                soonest = due if soonest is None else min(soonest, due)
        self._service.retry_stale(now)
        if soonest is None:
            return self._interval
        return max(0.05, min(self._interval, (soonest - now) / 1000))


class ObjectWatcher(BackgroundLoop):
    """Lists the prefixes of object triggers every ``interval_s``
    (``DOCKYARD_TRIGGER_OBJECTS_INTERVAL_S``) and fires for what is new."""

    name = "trigger-objects"
    interval_s = 30.0

    def __init__(
        self,
        service: TriggerService,
        db: Database,
        home: Path,
        *,
        interval_s: float | None = None,
        clock: Clock = _wall,
    ) -> None:
        super().__init__(db, home)
        self._service = service
        self._clock = clock
        self._interval = interval_s

    def tick(self) -> float | None:
        for row in self._service.enabled(TriggerKind.OBJECTS):
            try:
                self._service.poll_objects(row, self._clock())
            except DockyardError as exc:
                log.warning("trigger %s: %s", row.name, exc.message)
        return self._interval


class EventTriggers(EventConsumer):
    """Fires event triggers for the new events that match them."""

    name = "trigger-events"
    types: ClassVar[tuple[str, ...]] = ()  # every event: triggers choose
    interval_s = 0.5
    # Appends wake it only when an enabled trigger wants their type, and then at most once
    # per settle_s: a client logging a metric per call must not cost a pass per call.
    settle_s = 0.02
    follows = "trigger."  # a changed trigger's patterns are read at once

    def __init__(
        self,
        service: TriggerService,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, events, wake=wake)
        self._service = service

    def handle(self, events: list[Event]) -> None:
        """Fire the matching triggers; a cause seen again (after a crash) is not fired twice."""
        from dockyard.server.notifications import event_fields, matches, type_matches

        triggers: list[tuple[Any, EventSource]] = [
            (row, EventSource.model_validate(orjson.loads(row.config)["source"]))
            for row in self._service.enabled(TriggerKind.EVENTS)
        ]
        self.patterns = [p for _, source in triggers for p in source.events]
        self.settling = not triggers
        if not triggers:
            return
        for event in events:
            if event.type.startswith("trigger."):
                continue  # a trigger never follows triggers (it could start itself)
            fields: dict[str, Any] | None = None
            for row, source in triggers:
                if event.id <= row.after_event_id or not type_matches(source.events, event.type):
                    continue
                if source.filter:
                    fields = fields or event_fields(event.model_dump())
                    if not matches(source.filter, fields):
                        continue
                try:
                    self._service.fire_event(row, event)
                except DockyardError as exc:
                    log.warning("trigger %s: %s", row.name, exc.message)
