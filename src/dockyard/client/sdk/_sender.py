"""Background delivery of metrics: the training loop appends, a thread sends batches.

``log_metric`` costs an append under a lock. A daemon thread drains the buffer every
``interval`` seconds (or sooner when a batch fills) and posts batches with an idempotency key, so a
retry after a lost response never logs a point twice. A server restart or network error is
retried with backoff for ``Client.retry_for`` seconds; after that the failure is kept, sending
pauses, and the next ``add`` or ``flush`` (``end_run`` and process exit flush) raises it, saying
how many points were not logged: the failed batch, every point still queued (dropped) and, for
``add``, the point it was given. Memory is bounded: when ``max_pending`` points wait, ``add``
blocks until the sender catches up.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque

from dockyard.client.http import Client, routes
from dockyard.errors import DockyardError
from dockyard.limits import LIMITS

__all__ = ["MetricSender"]

# (run_id, key, value, timestamp_ms, step)
_Point = tuple[str, str, float, int, int]


def _json_value(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class MetricSender:
    """Buffers metric points and sends them in batches from a background thread."""

    def __init__(
        self,
        client: Client,
        *,
        batch_size: int = LIMITS.batch_metrics,
        interval: float = 0.25,
        max_pending: int = 1_000_000,
    ) -> None:
        self._client = client
        self._batch_size = batch_size
        self._interval = interval
        self._max_pending = max_pending
        self._pending: deque[_Point] = deque()
        self._cond = threading.Condition()
        self._inflight = 0
        self._flushing = 0  # callers waiting in flush(): the sender sends at once, not on its timer
        self._error: DockyardError | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, point: _Point) -> None:
        """Queue one point; raises the error of an earlier failed delivery, if any."""
        pending = self._pending
        # The training loop's hot path takes no lock: deque.append is atomic and the sender thread
        # pops under the condition. First point, pending error and full buffer take the locked
        # path. A wake-up lost to a race only delays a batch to the sender's next interval.
        if self._error is None and self._thread is not None and len(pending) < self._max_pending:
            pending.append(point)
            if len(pending) == self._batch_size:
                with self._cond:
                    self._cond.notify_all()
            return
        with self._cond:
            while len(pending) >= self._max_pending and self._error is None:
                self._cond.notify_all()
                self._cond.wait(0.5)
            if self._error is not None:
                self._raise_error(also=1)
            pending.append(point)
            if len(pending) >= self._batch_size:
                self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dockyard-metrics", daemon=True
                )
                self._thread.start()

    def add_many(self, points: list[_Point]) -> None:
        for point in points:
            self.add(point)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued point is delivered; raise if delivery failed."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(
                    lambda: (not self._pending and self._inflight == 0) or self._error is not None,
                    timeout,
                )
            finally:
                self._flushing -= 1
            if self._error is not None:
                self._raise_error()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _raise_error(self, also: int = 0) -> None:
        error, self._error = self._error, None
        assert error is not None
        lost = error.details.get("metrics_not_logged", 0) + len(self._pending) + also
        self._pending.clear()
        self._cond.notify_all()  # sending resumes with the next point
        raise type(error)(
            f"{lost} metric point{'s were' if lost != 1 else ' was'} not logged: {error.message}",
            field=error.field,
            details={**error.details, "metrics_not_logged": lost},
        ) from error

    def _run(self) -> None:
        while True:
            with self._cond:
                # While a failure waits to be raised nothing is sent: the points it reports as
                # not logged must not be delivered after all.
                self._cond.wait_for(
                    lambda: (
                        self._closed
                        or (
                            self._error is None
                            and (
                                len(self._pending) >= self._batch_size
                                or (self._flushing > 0 and bool(self._pending))
                            )
                        )
                    ),
                    self._interval,
                )
                if not self._pending or self._error is not None:
                    if self._closed:
                        return
                    continue
                batch = [
                    self._pending.popleft()
                    for _ in range(min(self._batch_size, len(self._pending)))
                ]
                self._inflight += 1
            try:
                self._deliver(batch)
            except DockyardError as exc:
                with self._cond:
                    exc.details["metrics_not_logged"] = len(batch)
                    self._error = exc
            finally:
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify_all()

    def _deliver(self, batch: list[_Point]) -> None:
        by_run: dict[str, list[_Point]] = {}
        if len({point[0] for point in batch}) == 1:
            by_run[batch[0][0]] = batch  # the usual case: one run, no regrouping
        else:
            for point in batch:
                by_run.setdefault(point[0], []).append(point)
        isfinite = math.isfinite
        for run_id, points in by_run.items():
            metrics = [
                {
                    "key": key,
                    "value": value if isfinite(value) else _json_value(value),
                    "timestamp": timestamp,
                    "step": step,
                }
                for _, key, value, timestamp, step in points
            ]
            # The LogBatch body, built as plain dicts: a model per point would cost more than
            # the append on the training loop's side. The batch id makes a retry harmless.
            self._client.call(
                routes.LOG_BATCH(run_id=run_id),
                {"batch_id": uuid.uuid4().hex, "metrics": metrics},
            )
