"""A loop that reads the event log from a durable cursor."""

from __future__ import annotations

import fnmatch
import threading
import time
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from dockyard.server.events import Event, EventLog, type_in
from dockyard.server.loops._loop import BackgroundLoop
from dockyard.server.store import Database

__all__ = ["EventConsumer"]


class EventConsumer(BackgroundLoop):
    """A :class:`BackgroundLoop` whose passes hand the events appended since its cursor to
        :meth:`handle`, then move the cursor past them.

        The cursor (``EventLog.position(name)``) lives in the metadata database, so a new leader
        (after a crash, on another server) goes on where the last one stopped: every event is
        handled at least once. :meth:`handle` must therefore tolerate seeing an event again (a crash
        between handling and moving the cursor); a consumer whose effects are database writes can
        make them exactly once by moving the cursor itself in the same transaction (override
        :meth:`consume`). Appends of its :attr:`types` in this process wake the loop once they
        commit, and so do those of the server's other processes on this machine where the event log
    tells its peers; others are seen within the loop's interval.

        A client that logs a metric per call appends hundreds of events a second, and a cursor write
        for each pass cost the server more than the calls themselves. So the leader keeps its cursor
        in memory, writing it to the database at most every :attr:`save_s` (on the first pass after
        that long, and when it stops): a crash hands the events of that last stretch to the next
        leader again, which the at-least-once contract above allows. A consumer of every event also
        sets :attr:`settle_s`, so that a stream of appends makes one pass per ``settle_s``.

        Attributes:
            types: The event types consumed (``job.*`` style prefixes allowed); others are
                skipped over, never handed on.
            batch: At most this many events per pass.
            save_s: How often, at most, the cursor is written while it moves.
    """

    types: ClassVar[tuple[str, ...]]
    #: A consumer of every event (no :attr:`types`) that matches them against patterns of its
    #: own sets :attr:`patterns` on each pass; appends whose type starts with this (the changes
    #: to those patterns) wake it whatever the patterns.
    follows: ClassVar[str] = ""
    batch: ClassVar[int] = 100
    save_s: ClassVar[float] = 1.0

    def __init__(
        self,
        db: Database,
        home: Path,
        events: EventLog,
        *,
        wake: threading.Event | None = None,
        interval_s: float | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake, interval_s=interval_s)
        self.events = events
        #: The event-type patterns (``job.*``, ``*``) the last pass matched against, when the
        #: consumer takes every event; None until a pass has read them: every append wakes it.
        self.patterns: list[str] | None = None
        self._cursor: int | None = None  # read up to here (None: not loaded yet)
        self._saved = 0  # the cursor as the database has it
        self._saved_at = 0.0
        events.on_append(self._nudge)

    def _nudge(self, type: str) -> None:
        if not type or self.wants(type):
            self.wake()  # others are read with the next pass that happens anyway

    def wants(self, type: str) -> bool:
        """Whether a committed append of ``type`` should wake the loop now."""
        if self.types:
            return type_in(self.types, type)
        patterns = self.patterns
        return (
            patterns is None
            or bool(self.follows and type.startswith(self.follows))
            or any(fnmatch.fnmatchcase(type, p) for p in patterns)
        )

    def stop(self, timeout: float = 10.0) -> None:
        self.events.off_append(self._nudge)
        super().stop(timeout)

    def tick(self) -> float | None:
        if not self.types and self.patterns == [] and self.follows:
            # Nothing to match against (no subscription, no enabled trigger) but the changes
            # to the patterns themselves: read only those, and step over the rest unread. A
            # client logging a metric per call appends hundreds of events a second, which every
            # pass read and parsed only to drop.
            found, last = self.events.skim(
                after=self.position(), types=[f"{self.follows}*"], limit=self.batch
            )
        else:
            found, last = self.events.scan(
                after=self.position(), types=list(self.types), limit=self.batch
            )
        self.consume(found, last)
        return 0.0 if len(found) == self.batch else None  # more waiting: no pause

    def consume(self, events: list[Event], last: int) -> None:
        """Act on one pass's ``events`` and move the cursor to ``last`` (at or past the last of
        them): :meth:`handle`, then :meth:`moved`. A consumer that records its effects and its
        cursor in one transaction overrides this, and calls :meth:`saved` after the commit."""
        if events:
            self.handle(events)
        self.moved(last)

    @abstractmethod
    def handle(self, events: list[Event]) -> None:
        """Act on ``events`` (oldest first); raising leaves the cursor where it was."""

    def finish(self) -> None:
        if self._cursor is not None and self._cursor > self._saved:
            self._save(self._cursor)

    # -- the cursor ----------------------------------------------------------------------------

    def position(self) -> int:
        """Where this loop has read up to (from the database on its first pass)."""
        if self._cursor is None:
            self._cursor = self._saved = self.events.position(self.name)
            self._saved_at = time.monotonic()
        return self._cursor

    def moved(self, last: int) -> None:
        """The pass read up to ``last``: remember it, and write it if :attr:`save_s` passed."""
        self._cursor = max(last, self.position())
        if self._cursor > self._saved and time.monotonic() - self._saved_at >= self.save_s:
            self._save(self._cursor)

    def saved(self, position: int) -> None:
        """The pass wrote the cursor at ``position`` itself, in its own transaction."""
        self._cursor = max(position, self.position())
        self._saved, self._saved_at = position, time.monotonic()

    def _save(self, position: int) -> None:
        with self._db.write() as conn:
            self.events.advance(conn, self.name, position)
        self.saved(position)
