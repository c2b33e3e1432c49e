"""Waiting for a job to end, woken by the event log rather than by polling the jobs table.

A job's final transition appends a ``job.status_changed`` event in the transaction that makes
it. A waiter notes the log's last id, reads the job, and if it has not ended sleeps until an
append in this process wakes it (:meth:`~dockyard.server.events.EventLog.wait` /
:meth:`~dockyard.server.events.EventLog.appended`), then looks only at the job's events since that
id. Appends in other server processes (a runner's report may reach any of them) wake no one here,
so a waiter also looks every :data:`_RECHECK_S` seconds: one indexed read of the event log.
Appends wake waiters once their transaction commits; one made outside
:meth:`~dockyard.server.store.Database.write` wakes them at once, before its commit may have
landed, so a waiter that was woken but found nothing looks again a moment later.

``GET /api/v1/jobs/{name}?wait=30`` long-polls with this, so clients (``TrainingJob.wait``)
stop asking every quarter second; server-side waiters (pipelines, tuning) use the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from dockyard.api.jobs import Job, JobStatus
from dockyard.server.actor import Actor
from dockyard.server.events import EventLog

__all__ = ["JobWaiter"]

_RECHECK_S = 1.0  # for appends made by other server processes
_SOON_S = 0.02  # after a wake-up that came before its commit


class JobWaiter:
    """Waits for jobs to end.

    Args:
        events: The event log.
        get: Reads a job as an actor (checks read permission).
    """

    def __init__(self, events: EventLog, get: Callable[[Actor, str], Job]) -> None:
        self._events = events
        self._get = get

    def _ended_since(self, name: str, after: int) -> tuple[bool, int]:
        """Whether a terminal status of job ``name`` was recorded after event ``after``, and
        the id to look after next time."""
        found = self._events.read(
            after=after,
            types=["job.status_changed"],
            resource_type="job",
            resource_id=name,
            limit=1000,
        )
        for event in found:
            try:
                if JobStatus(str(event.body.get("status"))).is_terminal:
                    return True, event.id
            except ValueError:
                continue
        return False, found[-1].id if found else after

    def wait(self, actor: Actor, name: str, timeout: float) -> Job:
        """The job once it has ended, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        after = self._events.latest_id()
        job = self._get(actor, name)
        pause = _RECHECK_S
        while not job.status.is_terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            woken = self._events.wait(min(remaining, pause))
            ended, after = self._ended_since(job.name, after)
            if ended:
                return self._get(actor, name)
            pause = _SOON_S if woken else _RECHECK_S
        return job

    async def await_(self, actor: Actor, name: str, timeout: float) -> Job:
        """:meth:`wait` on an event loop: no thread is held while nothing happens."""
        deadline = time.monotonic() + timeout
        after = await run_in_threadpool(self._events.latest_id)
        job = await run_in_threadpool(self._get, actor, name)
        pause = _RECHECK_S
        while not job.status.is_terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            woken = await self._events.appended(min(remaining, pause))
            ended, after = await run_in_threadpool(self._ended_since, job.name, after)
            if ended:
                return await run_in_threadpool(self._get, actor, name)
            pause = _SOON_S if woken else _RECHECK_S
        return job
