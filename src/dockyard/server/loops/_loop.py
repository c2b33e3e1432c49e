"""The skeleton of a leader-locked background loop (see the package docstring)."""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from dockyard.errors import Unavailable
from dockyard.server.store import Database, LeaderLock

__all__ = ["BackgroundLoop"]

log = logging.getLogger("dockyard.server.loops")


class BackgroundLoop(ABC):
    """A loop that runs in a daemon thread of a server process while it holds its lock.

    Subclasses set :attr:`name` (the lock's and the thread's name) and :attr:`interval_s`,
    and implement :meth:`tick`; :meth:`reconcile` runs once on taking the lead. A tick that
    raises is logged and the loop goes on.

    Args:
        db: The metadata database (the lock is per database).
        home: Holds the lock file of an in-memory SQLite database.
        wake: An event others set to make the loop tick at once (a service's "something
            changed"); the loop's own when omitted.
        interval_s: The pause between passes when :meth:`tick` returns None (the class's
            :attr:`interval_s` when omitted).
    """

    name: ClassVar[str]
    interval_s: ClassVar[float] = 1.0
    #: A wake-up this soon after the last pass a wake-up began waits out the rest of it, and
    #: the wake-ups meanwhile join its pass: a stream of them makes one pass per settle_s,
    #: while one after a quiet spell is served at once. Only while :attr:`settling`.
    settle_s: ClassVar[float] = 0.0
    #: How often a follower tries to take the lead.
    follow_s: ClassVar[float] = 2.0

    def __init__(
        self,
        db: Database,
        home: Path,
        *,
        wake: threading.Event | None = None,
        interval_s: float | None = None,
    ) -> None:
        self._db = db
        self.interval = self.interval_s if interval_s is None else interval_s
        self._lock = LeaderLock(db, home, self.name)
        self._wake = wake or threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"dockyard-{self.name}", daemon=True
        )
        self.is_leader = False
        #: Whether wake-ups settle (:attr:`settle_s`): a pass that found nothing anyone waits
        #: for may set it, one that did work for someone clear it, so that their wake-ups are
        #: served at once.
        self.settling = True

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start following; the loop works once it holds the lock."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop ticking, wait for the thread, and give up the lead."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._lock.release()
        self.is_leader = False

    def wake(self) -> None:
        """Tick now instead of at the end of the interval."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- what subclasses do ---------------------------------------------------------------------

    def reconcile(self) -> None:  # noqa: B027 - optional: most loops have nothing to reattach
        """Once, on taking the lead: bring what the previous leader left to a known state."""

    @abstractmethod
    def tick(self) -> float | None:
        """One pass. Returns how long to sleep before the next (None: the interval)."""

    def finish(self) -> None:  # noqa: B027 - optional: most loops keep nothing in memory
        """Once, when stopping while leading, before the lead is given up: save what the loop
        holds in memory (it runs in the loop's thread, after its last pass)."""

    # -- the thread -----------------------------------------------------------------------------

    def _main(self) -> None:
        while self._follow():
            if self._lead():
                return

    def _follow(self) -> bool:
        """Wait for the lead; False when stopping first. A database that cannot be reached
        meanwhile is waited out: the follower must still be there to take over later."""
        while not self._stopping.is_set():
            try:
                if self._lock.try_acquire():
                    return True
            except Exception as exc:
                log.warning("%s: cannot take the lead yet: %s", self.name, _one_line(exc))
            self._stopping.wait(self.follow_s)
        return False

    def _lead(self) -> bool:
        """Work while leading. True when stopping; False when the lead was lost (the database
        ended the session that held it), to follow again rather than lead beside another."""
        self.is_leader = True
        log.info("%s: leading", self.name)
        try:
            self.reconcile()
        except Exception:
            log.exception("%s: reconciling failed", self.name)
        woken_at = -math.inf  # when the last pass a wake-up began started
        woken = False
        checked = time.monotonic()
        while not self._stopping.is_set():
            if time.monotonic() - checked >= self.follow_s:
                checked = time.monotonic()
                if not self._lock.held():
                    log.warning("%s: lost the lead (its database session ended)", self.name)
                    self._lock.release()
                    self.is_leader = False
                    return False
            self._wake.clear()  # before the pass: a wake during it makes the next one prompt
            if woken:
                woken_at = time.monotonic()
            pause = None
            try:
                pause = self.tick()
            except Unavailable as exc:  # the database or the store is away: no bug to trace
                log.warning("%s: a pass failed: %s", self.name, _one_line(exc))
            except Exception:
                log.exception("%s: a pass failed", self.name)
            woken = self._wake.wait(self.interval if pause is None else pause)
            if woken and self.settle_s and self.settling:
                rest = woken_at + self.settle_s - time.monotonic()
                if rest > 0:
                    self._stopping.wait(rest)
        try:
            self.finish()
        except Exception:
            log.exception("%s: finishing failed", self.name)
        return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
