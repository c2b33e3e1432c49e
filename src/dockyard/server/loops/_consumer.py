"""A loop that reads the event log from a durable cursor."""

from __future__ import annotations

import threading
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from dockyard.server.events import Event, EventLog
from dockyard.server.loops._loop import BackgroundLoop
from dockyard.server.store import Database

__all__ = ["EventConsumer"]

_SOON_S = 0.02


class EventConsumer(BackgroundLoop):
    """A :class:`BackgroundLoop` whose passes hand the events appended since its cursor to
    :meth:`handle`, then move the cursor past them.

    The cursor (``EventLog.position(name)``) lives in the metadata database, so a new leader
    (after a crash, on another server) goes on where the last one stopped: every event is
    handled at least once. :meth:`handle` must therefore tolerate seeing an event again (a crash
    between handling and moving the cursor); a consumer whose effects are database writes can
    make them exactly once by moving the cursor itself in the same transaction
    (:meth:`~dockyard.server.events.EventLog.advance`). Appends in this process wake the loop at
    once; those of other server processes are seen within :attr:`interval_s`.

    Attributes:
        types: The event types consumed (``job.*`` style prefixes allowed); others are
            skipped over, never handed on.
        batch: At most this many events per pass.
    """

    types: ClassVar[tuple[str, ...]]
    batch: ClassVar[int] = 100

    def __init__(
        self,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake)
        self.events = events
        self._nudged = False
        events.on_append(self._nudge)

    def _nudge(self) -> None:
        self._nudged = True
        self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self.events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        nudged, self._nudged = self._nudged, False
        after = self.events.position(self.name)
        found, last = self.events.scan(after=after, types=list(self.types), limit=self.batch)
        if not found and last == after and nudged:
            # Appends notify just before their transaction commits: look again in a moment.
            return _SOON_S
        if found:
            self.handle(found)
        if last > after:
            with self._db.write() as conn:
                self.events.advance(conn, self.name, last)
        return 0.0 if len(found) == self.batch else None  # more waiting: no pause

    @abstractmethod
    def handle(self, events: list[Event]) -> None:
        """Act on ``events`` (oldest first); raising leaves the cursor where it was."""
