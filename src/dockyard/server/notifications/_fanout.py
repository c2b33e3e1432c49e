"""The fan-out: events become queued deliveries, exactly once.

An :class:`~dockyard.server.loops.EventConsumer` whose pass inserts one ``deliveries`` row per
(matching subscription, event) and moves its cursor in the same transaction: a crash before the
commit leaves neither, after it both, so no event is queued twice or skipped. A pass that queues
nothing moves the cursor in memory only (written within ``save_s``, as every consumer's is): the
events a crash hands out again are the ones that matched no subscription, and they match none
again (a subscription made since starts after them, at its ``after_event_id``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import orjson
from sqlalchemy import select

from dockyard.server.events import Event, EventLog
from dockyard.server.loops import EventConsumer
from dockyard.server.notifications._deliverer import QUEUED
from dockyard.server.notifications._filters import event_fields, matches, type_matches
from dockyard.server.notifications._rows import INSERT_DELIVERIES, execute_many
from dockyard.server.store import Database, schema

__all__ = ["FanOut"]

_S = schema.subscriptions


class FanOut(EventConsumer):
    """Queues each new event for the subscriptions whose patterns and filter it matches.

    After a commit that queued deliveries it announces :data:`QUEUED`, which wakes the
    deliverer wherever it leads.

    Args:
        interval_s: How often an idle loop reads the log anyway. Appends in this process wake
            it, and those of the server's other processes on this machine where the event log
            tells its peers; elsewhere (another machine on the same database, a system without
            peers) only this poll finds them, so a short one (one indexed query) keeps
            event-to-webhook latency in tens of milliseconds.
    """

    name = "notifications-fanout"
    interval_s = 0.05
    types: ClassVar[tuple[str, ...]] = ()  # every event: subscriptions choose
    batch = 500
    # Appends wake it only when a subscription wants their type, and then at most once per
    # settle_s: a client logging a metric per call must not cost a pass per call.
    settle_s = 0.02
    follows = "subscription."  # a new subscription's patterns are read at once

    def __init__(
        self,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        wake: threading.Event | None = None,
        interval_s: float | None = None,
    ) -> None:
        super().__init__(db, home, events, wake=wake, interval_s=interval_s)

    def wants(self, type: str) -> bool:
        return type != QUEUED and super().wants(type)  # its own announcement

    def consume(self, events: list[Event], last: int) -> None:
        rows = self._rows(events) if events else []
        self.settling = not rows
        if not rows:
            self.moved(last)
            return
        with self._db.write() as conn:
            execute_many(conn, INSERT_DELIVERIES, rows)
            self.events.advance(conn, self.name, last)
        self.saved(last)
        self.events.announce(QUEUED)

    def handle(self, events: list[Event]) -> None:
        """Unused: :meth:`consume` queues and moves the cursor in one transaction."""
        raise NotImplementedError

    def _rows(self, events: list[Event]) -> list[tuple[Any, ...]]:
        with self._db.read() as conn:
            subs = conn.execute(
                select(
                    _S.c.subscription_id,
                    _S.c.events,
                    _S.c.filter,
                    _S.c.retry_horizon_s,
                    _S.c.after_event_id,
                ).where(_S.c.state == "confirmed")  # a pending one is sent its confirmation alone
            ).all()
        self.patterns = [p for s in subs for p in s.events.split(",")]
        if not subs:
            return []
        now = time.time_ns() // 1_000_000
        prepared = [
            (
                s.subscription_id,
                s.events.split(","),
                orjson.loads(s.filter),
                s,
                now + int(s.retry_horizon_s * 1000),
            )
            for s in subs
        ]
        rows: list[tuple[Any, ...]] = []
        # Which subscriptions an event type matches, worked out once per type and pass: a pass
        # holds hundreds of events of a few types.
        by_type: dict[str, list[tuple[str, Any, Any, int]]] = {}
        for event in events:
            candidates = by_type.get(event.type)
            if candidates is None:
                candidates = by_type[event.type] = [
                    (sid, policy, sub, horizon)
                    for sid, patterns, policy, sub, horizon in prepared
                    if type_matches(patterns, event.type)
                ]
            fields: dict[str, Any] | None = None
            for sid, policy, sub, horizon in candidates:
                if event.id <= sub.after_event_id:
                    continue
                if policy:
                    if fields is None:
                        fields = event_fields(event.model_dump())
                    if not matches(policy, fields):
                        continue
                rows.append((sid, event.id, "pending", 0, now, horizon, now, now))
        return rows
