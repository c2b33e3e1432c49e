"""A bounded hand-off from the event loop to a writer thread, for capture records and log lines.

``put`` is a ``deque.append`` (atomic under the GIL, no lock, no wake-up): the request path never
waits for a writer and never fails because of one. The thread wakes every ``interval_s``, takes
everything queued, and hands it to ``write`` in one batch. The bound is in bytes, so a burst of
6 MB bodies cannot hold gigabytes; what does not fit is dropped and counted. Two counters, each
written by one thread only, give the bytes pending without a shared read-modify-write.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Sink"]

T = TypeVar("T")


class Sink(Generic[T]):
    """Items queued by one thread and written in batches by another.

    Args:
        name: The writer thread's name.
        write: Called on the writer thread with each batch; exceptions are reported to stderr
            and counted in :attr:`failures` (the batch is then lost: ``write`` retries itself
            when retrying makes sense).
        interval_s: Time between batches.
        max_bytes: Bytes (as declared by ``put``) allowed to wait; more are dropped.
    """

    def __init__(
        self,
        name: str,
        write: Callable[[list[T]], None],
        *,
        interval_s: float,
        max_bytes: int,
    ) -> None:
        self._write = write
        self._interval = interval_s
        self._max_bytes = max_bytes
        self._queue: deque[tuple[T, int]] = deque()
        self._queued_bytes = 0  # written by the producer thread only
        self._written_bytes = 0  # written by the writer thread only
        self.dropped = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T, size: int = 1) -> bool:
        """Queue ``item`` (weighing ``size`` bytes); ``False`` if it was dropped."""
        if self._queued_bytes - self._written_bytes + size > self._max_bytes or self._stop.is_set():
            self.dropped += 1
            return False
        self._queue.append((item, size))
        self._queued_bytes += size
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued and stop the thread (waits up to ``timeout_s``)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            batch: list[T] = []
            size = 0
            while queue and len(batch) < 10_000:
                item, weight = queue.popleft()
                batch.append(item)
                size += weight
            try:
                self._write(batch)
            except Exception:
                self.failures += 1
                print(
                    f"dockyard serving: {self._thread.name} failed:\n{traceback.format_exc()}",
                    file=sys.stderr,
                    flush=True,
                )
            finally:
                self._written_bytes += size
