"""Adaptive micro-batching: concurrent requests to a variant become one predict call.

The policy is continuous batching. A batch starts as soon as the variant's executor is free and
something is queued, and takes everything queued then (up to ``max_batch_size`` rows of one
kind); requests arriving while it runs form the next batch. A lone request therefore never waits
(the concurrency-1 latency is the model's own), and batches grow exactly as fast as load does.
``max_wait_ms`` only delays a batch while other requests are known to be mid-arrival (their
headers are in, their bodies are not yet decoded), to let them join.

All queue handling runs on the event loop thread, so it needs no lock. Predict runs either
*inline* on the loop (no thread hop, for fast vectorised models: a batch costs less than the
two context switches a thread would add) or on the variant's own thread, with one
``call_soon_threadsafe`` per batch to hand results back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any

from dockyard.runtime.serving._inputs import Item

__all__ = ["Batcher", "Outcome"]

#: What running a batch gives each item: ``(True, predictions)`` or ``(False, exception)``.
Outcome = tuple[bool, Any]
Runner = Callable[[list[Item]], list[Outcome]]
BatchObserver = Callable[[int, int, float], None]


class Batcher:
    """The queue in front of one variant's model.

    Args:
        run: Predicts a batch and returns one outcome per item (never raises).
        inline: Run ``run`` on the event loop instead of the variant's thread.
        enabled: Merge items of equal kind; when off, every item is its own batch.
        max_rows: Rows per batch (one item bigger than this runs alone).
        max_wait_s: See the module docstring.
        arriving: How many requests are between their headers and their ``submit``.
        observe: Called on the loop with (rows, items, seconds) after each batch.
        name: Names the variant's thread.
    """

    def __init__(
        self,
        run: Runner,
        *,
        inline: bool,
        enabled: bool,
        max_rows: int,
        max_wait_s: float,
        arriving: Callable[[], int],
        observe: BatchObserver,
        name: str,
    ) -> None:
        self.inline = inline
        self.enabled = enabled
        self.max_rows = max_rows
        self._run = run
        self._max_wait = max_wait_s
        self._arriving = arriving
        self._observe = observe
        self._queue: deque[Item] = deque()
        self._busy = False
        self._scheduled = False
        self._waited = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = (
            None if inline else ThreadPoolExecutor(1, thread_name_prefix=f"predict-{name}")
        )

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return not self._busy and not self._queue

    def submit(self, item: Item) -> asyncio.Future[Any]:
        """Queue ``item``; the returned future resolves to its predictions (or its error)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        item.future = future
        self._queue.append(item)
        if not self._busy and not self._scheduled:
            self._scheduled = True
            # call_soon, not a direct start: every request whose bytes arrived in this loop
            # iteration gets to queue first, so they share the batch.
            loop.call_soon(self._start)
        return future

    def close(self) -> None:
        """Release the variant's thread (after in-flight batches finish)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def _start(self) -> None:
        self._scheduled = False
        if self._busy:
            return
        queue = self._queue
        while queue and queue[0].future is not None and queue[0].future.done():
            queue.popleft()  # timed out while queued: nobody is waiting for it
        if not queue:
            return
        if self._should_wait():
            return
        self._waited = False
        batch = self._take()
        self._busy = True
        if self._executor is None:
            started = perf_counter()
            outcomes = self._run(batch)
            self._finish(batch, outcomes, perf_counter() - started)
        else:
            started = perf_counter()
            future = self._executor.submit(self._run, batch)
            future.add_done_callback(lambda f: self._from_thread(batch, f, started))

    def _should_wait(self) -> bool:
        if not self.enabled or self._max_wait <= 0 or self._waited or self._arriving() == 0:
            return False
        if sum(item.rows for item in self._queue) >= self.max_rows:
            return False
        assert self._loop is not None
        self._waited = True
        self._scheduled = True
        self._loop.call_later(self._max_wait, self._start)
        return True

    def _take(self) -> list[Item]:
        queue = self._queue
        first = queue.popleft()
        batch = [first]
        kind = first.kind
        if not self.enabled or kind is None:
            return batch
        rows = first.rows
        limit = self.max_rows
        while queue:
            item = queue[0]
            if item.future is not None and item.future.done():
                queue.popleft()
                continue
            if item.kind != kind or rows + item.rows > limit:
                break
            batch.append(queue.popleft())
            rows += item.rows
        return batch

    def _from_thread(
        self, batch: list[Item], future: ThreadFuture[list[Outcome]], t0: float
    ) -> None:
        seconds = perf_counter() - t0
        exc = future.exception()
        outcomes = future.result() if exc is None else [(False, exc)] * len(batch)
        assert self._loop is not None
        # RuntimeError: the loop closed while this batch ran (shutdown); nobody is waiting.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish, batch, outcomes, seconds)

    def _finish(self, batch: list[Item], outcomes: list[Outcome], seconds: float) -> None:
        self._busy = False
        self._observe(sum(item.rows for item in batch), len(batch), seconds)
        for item, (ok, value) in zip(batch, outcomes, strict=True):
            future = item.future
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._queue and not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            # Through the loop again, so the I/O that arrived meanwhile joins the next batch.
            self._loop.call_soon(self._start)
