"""An endpoint's logs as the API returns them: its workers' logs, read by offset."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["EndpointLogPage", "WorkerLogInfo"]


class WorkerLogInfo(BaseModel):
    """One worker's log.

    Attributes:
        worker: The worker's id (``i-...``).
        alive: Whether the worker still serves (more can come).
        started_time: When it started (unix ms).
        first_offset: The oldest byte kept (older ones were dropped to bound the log).
        size: The offset of the log's end: every byte the worker has written.
        last_time: When it last wrote (unix ms; 0 before it has written anything).
    """

    worker: str
    alive: bool
    started_time: int
    first_offset: int
    size: int
    last_time: int = 0


class EndpointLogPage(BaseModel):
    """Text of one worker's log from ``offset`` to ``next_offset`` (byte offsets).

    ``offset`` is later than the one asked for when those bytes were dropped. A page ends at a
    line's end when it can. ``ended`` says the worker has exited and ``next_offset`` is the
    end: nothing more will come. ``workers`` lists every worker's log the endpoint keeps.
    """

    worker: str
    offset: int
    next_offset: int
    text: str
    ended: bool
    workers: list[WorkerLogInfo]
