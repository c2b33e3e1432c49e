"""The scheduler: starts queued jobs as capacity allows, and fails jobs whose runner is gone.

A :class:`~dockyard.server.loops.BackgroundLoop`: exactly one scheduler acts per metadata database.
It talks to runners only through the executors (:mod:`dockyard.api.jobs._executor`): it submits
a launch (the job, the server's URL, a runner token) to the executor the job's row names,
stores the handle in the row, asks that executor whether the runner still runs, and signals a
stop. Each executor's queue is admitted against its own capacity. Everything a runner reports
(status, progress, log) reaches the server through the API, wherever the runner runs.

On taking the lead it reconciles: runners still alive are reattached (they report through the
API as before, so nothing is lost while no server listened), runners that died while no
scheduler watched are failed with a reason, and queued jobs simply start.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from typing import Any

import orjson

from dockyard.api.jobs import (
    Executor,
    Handle,
    JobStatus,
    RunnerStatus,
    SecondaryStatus,
    resolve_job_user,
    runner_statuses,
)
from dockyard.server.jobs._capacity import Need, admit
from dockyard.server.jobs._executors import Executors
from dockyard.server.jobs._service import JOB_ENDED, JobService
from dockyard.server.loops import BackgroundLoop
from dockyard.server.tracking import now_ms
from dockyard.settings import Settings

__all__ = ["Scheduler"]

log = logging.getLogger("dockyard.server.jobs")

#: What changes the queue or the capacity in use: a job queued, resumed or asked to stop, a
#: job ending.
_WAKE_ON = frozenset({"job.submitted", "job.resumed", "job.stop_requested", JOB_ENDED})
_DISCARD_EVERY_S = 60.0  # how often ended jobs' work folders are looked at


class Scheduler(BackgroundLoop):
    """Runs in a daemon thread of a server process (``dockyard server``)."""

    name = "scheduler"
    interval_s = 0.25

    def __init__(
        self, jobs: JobService, executors: Executors, settings: Settings, server_url: str
    ) -> None:
        super().__init__(jobs._db, settings.home, wake=jobs.wake)
        self._jobs = jobs
        # The service wakes the loop of its own process; these wake it wherever it leads.
        self._events = jobs._events
        self._events.on_append(self._nudge)
        self._executors = executors
        self._server_url = server_url
        # Resolved once, at start: a user that does not exist stops the server, not each job.
        resolve_job_user(settings.job_user)
        self._retention_ms = int(settings.job_folder_retention_s * 1000)
        # Looked at every minute, or more often for a shorter retention.
        self._discard_every_s = min(_DISCARD_EVERY_S, settings.job_folder_retention_s / 2)
        self._next_discard = 0.0

    def _nudge(self, type: str) -> None:
        if type in _WAKE_ON:
            self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._nudge)
        super().stop(timeout)

    # -- the work -----------------------------------------------------------------------------

    def reconcile(self) -> None:
        for row in self._jobs.with_status(JobStatus.IN_PROGRESS, JobStatus.STOPPING):
            handle = self._handle(row)
            executor = self._executors.get(row.executor)
            if handle is None:
                # Killed between starting the runner and storing its handle: the executor may
                # know where the runner is (see Executor.find).
                find = getattr(executor, "find", None)
                found: Handle | None = find(row.name) if find is not None else None
                if found is not None:
                    self._jobs.update(row.job_id, handle=orjson.dumps(found).decode())
                    log.info("reattached job %s, started as the server stopped", row.name)
                    continue
                self._jobs.fail(row.job_id, "the server stopped before the job's process started")
            elif executor is None:
                self._jobs.fail(row.job_id, self._unknown(row))
            else:
                status = executor.status(handle)
                if status["running"]:
                    log.info("reattached job %s", row.name)
                else:
                    self._fail_unfinished(row, handle, status, "while the server was down")

    def _unknown(self, row: Any) -> str:
        return (
            f"the job's runner was started by the {row.executor!r} executor, which this server "
            f"does not run (it runs {', '.join(self._executors.names)})"
        )

    def tick(self) -> float | None:
        """One pass: watch runners, enforce stops and queue deadlines, start what fits."""
        used: dict[str, Need] = defaultdict(lambda: Need(0.0))
        running: dict[str, list[tuple[Any, Handle]]] = defaultdict(list)
        for row in self._jobs.with_status(JobStatus.IN_PROGRESS, JobStatus.STOPPING):
            executor = self._executors.get(row.executor)
            handle = self._handle(row)
            if executor is None:
                self._jobs.fail(row.job_id, self._unknown(row))
            elif handle is None:
                self._fail_unfinished(row, None, None, "")
            else:
                running[executor.name].append((row, handle))
        for name, held in running.items():
            executor = self._executors.choose(name)
            found = runner_statuses(executor, [handle for _, handle in held])
            for (row, handle), status in zip(held, found, strict=True):
                if not status["running"]:
                    self._fail_unfinished(row, handle, status, "")
                    continue
                if row.stop_requested:
                    executor.stop(handle)
                used[name] += _need(row)
        now = now_ms()
        queued: dict[str, list[tuple[Any, Need]]] = defaultdict(list)
        for row in self._jobs.with_status(JobStatus.PENDING):
            if row.queue_deadline is not None and now > row.queue_deadline:
                self._jobs.transition(
                    row.job_id,
                    SecondaryStatus.MAX_WAIT_TIME_EXCEEDED,
                    "the job waited in the queue longer than its max_wait_s",
                    failure_reason="MaxWaitTimeExceeded: no capacity within max_wait_s",
                )
                continue
            executor = self._executors.get(row.executor)
            if executor is None:  # queued for an executor the server no longer runs
                self._jobs.fail(row.job_id, self._unknown(row))
                continue
            queued[executor.name].append((row, _need(row)))
        for name, rows in queued.items():
            executor = self._executors.choose(name)
            gpus, _ = self._executors.gpus(executor)
            capacity = Need(self._executors.cpus(executor), gpus)
            for row in admit(rows, used[name], capacity):
                self._launch(executor, row)
        if time.monotonic() >= self._next_discard:
            self._next_discard = time.monotonic() + self._discard_every_s
            self._discard_old_folders()
        return None

    def _discard_old_folders(self) -> None:
        """Remove the work folders of jobs that ended more than the retention ago (see
        :class:`~dockyard.api.jobs.Executor`). A job is only launched by this loop, so none of
        them can start again while this runs."""
        cutoff = now_ms() - self._retention_ms
        for executor in self._executors:
            folders = getattr(executor, "folders", None)
            discard = getattr(executor, "discard", None)
            if folders is None or discard is None:
                continue
            found = self._jobs.find_many(folders())
            old = [
                name
                for name, job in found.items()
                if job.status.is_terminal and (job.end_time or 0) < cutoff
            ]
            for name in old:
                discard(name)
            if old:
                log.info("removed the work folders of %d jobs that ended long ago", len(old))

    @staticmethod
    def _handle(row: Any) -> Handle | None:
        if not row.handle:
            return None
        handle: Handle = orjson.loads(row.handle)
        return handle

    def _launch(self, executor: Executor, row: Any) -> None:
        token = self._jobs.runner_token(row)
        spec = orjson.loads(row.spec)
        self._jobs.transition(
            row.job_id,
            SecondaryStatus.STARTING,
            "",
            start_time=now_ms(),
            events_offset=0,
            executor=executor.name,
        )
        try:
            handle = executor.submit(
                {
                    "job": row.name,
                    "job_id": row.job_id,
                    "server_url": self._server_url,
                    "token": token,
                    "cpus": float(row.cpus),
                    "memory_mb": (spec.get("resources") or {}).get("memory_mb"),
                    "gpus": int((spec.get("resources") or {}).get("gpus", 0)),
                    "attempts": int((spec.get("retry_strategy") or {}).get("max_attempts", 1)),
                }
            )
        except OSError as exc:
            self._jobs.fail(row.job_id, f"could not start the job's process: {exc}")
            return
        self._jobs.update(row.job_id, handle=orjson.dumps(handle).decode())

    def _fail_unfinished(
        self, row: Any, handle: Handle | None, status: RunnerStatus | None, when: str
    ) -> None:
        """Fail a job whose runner is gone, unless it reported its end first (or was asked to
        stop: then it ends Stopped); the reason carries the end of the runner's own output (a
        runner that died before it could report explains itself there)."""
        if row.stop_requested:  # stopped before its runner was up to report it
            self._jobs.stopped(row.job_id, "stopped (its runner ended before it reported)")
            return
        executor = self._executors.get(row.executor)
        tail = executor.logs(handle) if handle is not None and executor is not None else ""
        code = status["exit_code"] if status else None
        reason = f"the job's runner process exited without a final status {when}".strip()
        if code is not None:
            reason += f" (exit code {code})"
        self._jobs.fail(row.job_id, f"{reason}\n{tail.strip()}".strip())


def _need(row: Any) -> Need:
    """What a job's row holds (a controller's row holds no CPUs, hence nothing)."""
    if row.cpus <= 0:
        return Need(0.0)
    return Need(float(row.cpus), _gpus(row.spec))


@functools.lru_cache(maxsize=4096)
def _gpus(spec: str) -> float:
    """The GPUs a spec asks for; each pass sees the same specs again, parsed once."""
    resources = orjson.loads(spec).get("resources") or {}
    return float(resources.get("gpus", 0))
