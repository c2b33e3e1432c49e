"""Making scored shards durable on a thread of the worker's, while it scores the next one.

A shard is done once its part is synced and its marker written (fsync of the part, of the
marker and of its folder): 10-20 ms of waiting on the disk per shard, during which a worker
that did it itself would leave its core idle, ~15% of the scoring of 4 MB shards. The worker
says ``free`` (the runner sends it the next shard) and hands the shard to the :class:`Finisher`,
whose one thread makes shards durable in the order they were scored and only then reports each
``done``; a failure there fails that shard as a scoring failure would.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from dockyard.errors import DockyardError
from dockyard.runtime.batch._config import ShardTask

__all__ = ["Finisher"]

Send = Callable[[dict[str, Any]], None]


class Finisher:
    """Runs ``finish(task, marker)`` for each submitted shard on one thread, then sends
    ``done`` (or ``failed``) for it.

    Args:
        finish: Makes the shard durable (raises if it cannot).
        send: The worker's thread-safe protocol sender.
    """

    def __init__(self, finish: Callable[[ShardTask, dict[str, Any]], None], send: Send) -> None:
        self._finish = finish
        self._send = send
        self._queue: queue.SimpleQueue[tuple[ShardTask, dict[str, Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def submit(self, task: ShardTask, marker: dict[str, Any]) -> None:
        """Make ``task``'s shard durable, then report it done with ``marker``."""
        if self._thread is None:  # started on first use: a worker forks before it scores
            self._thread = threading.Thread(target=self._run, name="batch-finisher", daemon=True)
            self._thread.start()
        self._queue.put((task, marker))

    def close(self) -> None:
        """Wait until every submitted shard is reported."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            task, marker = item
            try:
                self._finish(task, marker)
            except Exception as exc:  # the disk's refusal: the shard failed, not the worker
                error = (
                    exc
                    if isinstance(exc, DockyardError)
                    else DockyardError(
                        f"saving the output of {task.named} failed: {type(exc).__name__}: {exc}"
                    )
                )
                self._send({"type": "failed", "shard": task.shard_id, "error": error.to_dict()})
            else:
                self._send({"type": "done", "shard": task.shard_id, "marker": marker})
