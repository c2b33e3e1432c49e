"""Group commit on the event loop: writes that arrive together share one transaction.

A handler that awaits :meth:`GroupedWrites.write` queues its work; the first in a batch
schedules a flush for the turn after the loop's next, by when the requests read in the same
turn have queued theirs (a request's task made on this turn takes its first step, and reaches
its write, on the next: flushed then, each such request paid a commit of its own, and a busy
server grouped two works a commit on average where it now groups about six).

The flush runs up to :data:`MAX_GROUP` of them in one transaction on the loop
(each in its own savepoint, :meth:`Database.write_each`), without waiting for the writer's
lock: when another writer holds it, or the commit might checkpoint the WAL, the whole batch
runs in a thread instead (the server's thread pool, which its handlers use). While it does,
the writes awaited after it wait for it and then flush on the loop again: tried at once, they
would find the writer held by that very thread and follow it there one by one, each paying
a thread's hop and a commit of its own. A work that
raises :class:`WriterBusy` itself (it found it should not run on the loop) is rolled back
alone and its caller runs it in a thread the usual way.

On SQLite one commit costs about as much as a small write's inserts; a batch of eight pays it
once. Only SQLite groups writes: PostgreSQL has many writers at once, and a work runs in
a thread in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection

from dockyard.errors import Unavailable
from dockyard.server.store._database import Database, Grouped, WriterBusy

__all__ = ["GroupedWrites"]

R = TypeVar("R")
#: The most works one flush runs on the loop; the rest wait for the next turn, so other
#: requests are read in between.
MAX_GROUP = 16


class GroupedWrites:
    """Batches the writes awaited on one event loop into shared transactions (SQLite)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queued: dict[
            asyncio.AbstractEventLoop, list[tuple[Grouped, asyncio.Future[Any]]]
        ] = {}
        #: The loops one of whose batches runs in a thread: their next flush waits for it.
        self._in_thread_on: set[asyncio.AbstractEventLoop] = set()
        #: Those batches' tasks, held until done (the loop keeps only weak references).
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def groups(self) -> bool:
        """Whether writes are grouped here (SQLite)."""
        return self._db.dialect == "sqlite"

    async def write(self, work: Callable[[Connection], R]) -> R:
        """``work(conn)`` in a write transaction, perhaps shared with other callers' works;
        its result once committed. Raises what ``work`` raised (its writes rolled back), or
        :class:`WriterBusy` when ``work`` refused to run on the loop (nothing written)."""
        if not self.groups:
            return await anyio.to_thread.run_sync(self._alone, work)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        queued = self._queued.setdefault(loop, [])
        if not queued:
            loop.call_soon(loop.call_soon, self._flush, loop)  # see the module's docstring
        queued.append((Grouped(work, contextvars.copy_context()), future))
        return await future

    def _alone(self, work: Callable[[Connection], R]) -> R:
        with self._db.write() as conn:
            return work(conn)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop in self._in_thread_on:
            return  # the batch in the thread flushes the queue once it is done
        queued = self._queued.pop(loop, [])
        batch, rest = queued[:MAX_GROUP], queued[MAX_GROUP:]
        if rest:
            self._queued[loop] = rest
            loop.call_soon(self._flush, loop)
        if not batch:
            return
        try:
            with self._db.without_waiting():
                self._db.write_each([one for one, _ in batch])
        except WriterBusy:  # nothing written: the batch waits for the writer in a thread
            self._in_thread_on.add(loop)
            task = loop.create_task(self._in_thread(loop, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        except BaseException as exc:  # (KeyboardInterrupt...): no caller waits forever
            for one, _ in batch:
                one.error = exc if isinstance(exc, Exception) else Unavailable("interrupted")
            _settle(batch)
            raise
        _settle(batch)

    async def _in_thread(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[Grouped, asyncio.Future[Any]]]
    ) -> None:
        try:
            await anyio.to_thread.run_sync(self._db.write_each, [one for one, _ in batch])
        except Exception as exc:  # write_each keeps works' failures: this is its own
            for one, _ in batch:
                one.error = exc
        finally:
            self._in_thread_on.discard(loop)
            if self._queued.get(loop):
                loop.call_soon(self._flush, loop)
        _settle(batch)


def _settle(batch: list[tuple[Grouped, asyncio.Future[Any]]]) -> None:
    for one, future in batch:
        if future.done():  # its caller was cancelled (the client went away)
            continue
        if one.error is not None:
            future.set_exception(one.error)
        else:
            future.set_result(one.result)
