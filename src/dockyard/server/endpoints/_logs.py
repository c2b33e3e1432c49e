"""An endpoint's logs: its workers' bounded logs in the endpoint's folder, read by offset.

Workers write them (:mod:`dockyard.api.serving.logs` has the layout); the server only reads,
and on each launch forgets all but the newest exited workers' logs (with the files their
launch left: config, ready line, start errors), so an endpoint's folder stays bounded however
often its workers are replaced.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Collection
from pathlib import Path

from dockyard.api.endpoints import EndpointLogPage, WorkerLogInfo
from dockyard.api.serving.logs import (
    KEEP_EXITED,
    LogChunk,
    WorkerLog,
    worker_logs,
    worker_started_ms,
)
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["EndpointLogs", "whole_lines"]


class EndpointLogs:
    """The logs in ``folder/logs``; ``alive`` names the workers that still run."""

    def __init__(self, folder: Path, alive: Collection[str]) -> None:
        self._root = folder / "logs"
        self._folder = folder
        self._alive = set(alive)

    def logs(self) -> list[WorkerLog]:
        """Every worker's log, oldest worker first."""
        return worker_logs(self._root)

    def is_alive(self, worker: str) -> bool:
        return worker in self._alive

    def workers(self) -> list[WorkerLogInfo]:
        out = []
        for log in self.logs():
            first, end = log.bounds()
            out.append(
                WorkerLogInfo(
                    worker=log.worker_id,
                    alive=log.worker_id in self._alive,
                    started_time=worker_started_ms(log.worker_id) or 0,
                    first_offset=first,
                    size=end,
                    last_time=log.modified_ms(),
                )
            )
        return out

    def log(self, worker: str) -> WorkerLog:
        """The log of ``worker``.

        Raises:
            NotFound: No log of that worker is kept.
        """
        for log in self.logs():
            if log.worker_id == worker:
                return log
        raise NotFound(f"no log of worker {worker!r} is kept for this endpoint", field="worker")

    def page(self, worker: str | None, offset: int, limit: int) -> EndpointLogPage:
        """Text of ``worker``'s log (the newest worker's by default) from ``offset``.

        Raises:
            NotFound: No log of ``worker`` is kept (or the endpoint has no logs yet and a
                worker is named).
        """
        workers = self.workers()
        if worker is None:
            if not workers:
                return EndpointLogPage(
                    worker="", offset=0, next_offset=0, text="", ended=False, workers=[]
                )
            worker = workers[-1].worker
        info = next((w for w in workers if w.worker == worker), None)
        if info is None:
            known = ", ".join(w.worker for w in workers) or "none yet"
            raise NotFound(
                f"no log of worker {worker!r} is kept for this endpoint (workers: {known})",
                field="worker",
            )
        if offset > info.size:
            raise InvalidArgument(
                f"offset {offset} is past the end of worker {worker}'s log ({info.size} bytes)",
                field="offset",
            )
        chunk = self.log(worker).read(offset, limit)
        data = whole_lines(chunk, full=len(chunk.data) >= limit)
        return EndpointLogPage(
            worker=worker,
            offset=chunk.offset,
            next_offset=chunk.offset + len(data),
            text=data.decode("utf-8", "replace"),
            ended=not info.alive and chunk.offset + len(data) >= info.size,
            workers=workers,
        )

    def prune(self, keep: int = KEEP_EXITED) -> None:
        """Forget all but the newest ``keep`` exited workers' logs and launch files."""
        exited = [log for log in self.logs() if log.worker_id not in self._alive]
        for log in exited[: max(0, len(exited) - keep)]:
            shutil.rmtree(log.folder, ignore_errors=True)
            for name in ("config-{}.json", "worker-{}.out", "worker-{}.log"):
                with contextlib.suppress(FileNotFoundError):
                    (self._folder / name.format(log.worker_id)).unlink()


def whole_lines(chunk: LogChunk, *, full: bool) -> bytes:
    """``chunk``'s bytes, ending at a line's end when a full page holds one (the rest comes on
    the next page), and never inside a UTF-8 character."""
    data = chunk.data
    if full and b"\n" in data:
        return data[: data.rindex(b"\n") + 1]
    # A character cut by the page (or still being written) is left for the next read.
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:  # a lead byte: is its character whole?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if back < need:
                return data[:-back]
            break
    return data
