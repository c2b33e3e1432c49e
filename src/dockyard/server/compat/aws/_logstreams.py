"""The log streams CloudWatch Logs' API reads: a job's log, or one endpoint worker's.

Both are bytes read by offset with time marks ``(offset, unix ms)``: the bytes before each
offset had been written by then, so a line's time is the first mark at or past its end (the
stream's ``default_time`` when no mark covers it yet). A stream whose old bytes were dropped
(a worker's log is bounded) starts at a later offset: a read from before it moves on.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from dockyard.api.jobs import Job
from dockyard.api.serving.logs import LogChunk, WorkerLog, worker_started_ms
from dockyard.errors import InvalidArgument
from dockyard.server._services import Services
from dockyard.server.actor import Actor

__all__ = ["JobStream", "Piece", "Stream", "WorkerStream", "job_stream_name", "worker_stream_name"]

#: The variant part of an endpoint worker's stream name: every worker serves all of the
#: endpoint's variants (the split happens in the worker), so its output is all the traffic's.
ALL_TRAFFIC = "AllTraffic"


@dataclass(frozen=True)
class Piece:
    """Bytes of a stream from ``offset``; ``ended``: nothing will follow them."""

    offset: int
    data: bytes
    marks: tuple[tuple[int, int], ...]
    ended: bool


class Stream(ABC):
    """One log stream."""

    name: str
    created: int

    @abstractmethod
    def read(self, offset: int, limit: int) -> Piece:
        """Up to ``limit`` bytes from ``offset`` (or from the first byte kept, if later)."""

    @abstractmethod
    def bounds(self) -> tuple[int, int]:
        """The first offset kept and the end (read afresh)."""

    @abstractmethod
    def marks(self) -> list[tuple[int, int]]:
        """Every time mark of the bytes kept, in order."""

    @abstractmethod
    def default_time(self) -> int:
        """The time of a line no mark covers."""

    def time_of(self, end: int, marks: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> int:
        for at, ms in marks:
            if at >= end:
                return ms
        return self.default_time()

    def seek(self, start_time: int) -> int:
        """An offset before which every byte was written before ``start_time`` (a reader
        asked for newer events need not read them)."""
        first, end = self.bounds()
        before = first
        for at, ms in self.marks():
            if ms >= start_time:
                return before
            before = max(before, at)
        return end if self.default_time() < start_time else before

    def times(self) -> tuple[int, int] | None:
        """The first and last events' times, or None when the stream is empty."""
        first, end = self.bounds()
        if end <= first:
            return None
        marks = self.marks()
        return self.time_of(first + 1, marks), self.time_of(end, marks)

    def event_id(self, offset: int) -> str:
        return f"{self.created}{offset:018d}"


def job_stream_name(job: Job) -> str:
    """The one stream of ``job``'s log, named as SageMaker names an instance's stream."""
    return f"{job.name}/algo-1-{job.created_time // 1000}"


def worker_stream_name(worker_id: str) -> str:
    """An endpoint worker's stream, named as SageMaker names an instance's (``<variant>/<id>``)."""
    return f"{ALL_TRAFFIC}/{worker_id}"


class JobStream(Stream):
    """A job's log, dated by when each part of it was stored (a part stored before parts had
    times is dated by the job's start, or its creation before it starts)."""

    def __init__(self, services: Services, actor: Actor, job: Job) -> None:
        self.job = job
        self.name = job_stream_name(job)
        self.created = job.created_time
        self._services = services
        self._actor = actor

    def read(self, offset: int, limit: int) -> Piece:
        jobs = self._services.jobs
        data, end, ended = jobs.read_log(self._actor, self.job.name, offset, limit)
        marks = jobs.log_marks(self._actor, self.job.name, end) if data else []
        return Piece(offset, data, tuple(m for m in marks if m[0] > offset), ended)

    def bounds(self) -> tuple[int, int]:
        self.job, size = self._services.jobs.log_size(self._actor, self.job.name)
        return 0, size

    def marks(self) -> list[tuple[int, int]]:
        return self._services.jobs.log_marks(self._actor, self.job.name)

    def default_time(self) -> int:
        return self.job.start_time or self.job.created_time


class WorkerStream(Stream):
    """One endpoint worker's log; ``alive``: the worker still runs (more can come)."""

    def __init__(self, log: WorkerLog, *, alive: bool) -> None:
        self.log = log
        self.alive = alive
        self.name = worker_stream_name(log.worker_id)
        self.created = worker_started_ms(log.worker_id) or 0

    def read(self, offset: int, limit: int) -> Piece:
        end = self.log.bounds()[1]
        if offset > end:
            raise InvalidArgument(
                f"offset {offset} is past the end of the log ({end} bytes)", field="offset"
            )
        chunk: LogChunk = self.log.read(offset, limit)
        ended = not self.alive and chunk.end >= self.log.bounds()[1]
        return Piece(chunk.offset, chunk.data, chunk.marks, ended)

    def bounds(self) -> tuple[int, int]:
        return self.log.bounds()

    def marks(self) -> list[tuple[int, int]]:
        return self.log.marks()

    def default_time(self) -> int:
        # Marks come about once a second while a worker writes: a line no mark covers yet was
        # written just now; an exited worker's, when it last wrote.
        return time.time_ns() // 1_000_000 if self.alive else self.log.modified_ms()
