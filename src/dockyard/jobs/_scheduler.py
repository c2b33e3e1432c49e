"""The scheduler: starts queued jobs as capacity allows and records what runners report.

Exactly one scheduler acts per metadata database (:class:`~dockyard.store._leader.LeaderLock`),
whatever the number of server workers. On taking the lock it reconciles: runners still alive
are reattached (their status file is read from where the database left off), runners that died
while no scheduler watched are failed with a reason, and queued jobs simply start.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from dockyard.auth import Actor
from dockyard.jobs._entities import JobStatus, SecondaryStatus
from dockyard.jobs._events import read_events
from dockyard.jobs._executor import Executor
from dockyard.jobs._service import JobService
from dockyard.jobs._user import resolve_job_user
from dockyard.settings import Settings
from dockyard.store._leader import LeaderLock
from dockyard.tracking import now_ms

__all__ = ["Scheduler"]

log = logging.getLogger("dockyard.jobs")
_SYSTEM = Actor.system("scheduler")

_RUN_STATUS = {
    JobStatus.COMPLETED: "FINISHED",
    JobStatus.FAILED: "FAILED",
    JobStatus.STOPPED: "KILLED",
}


class Scheduler:
    """Runs in a daemon thread of a server process."""

    def __init__(
        self, jobs: JobService, executor: Executor, settings: Settings, server_url: str
    ) -> None:
        self._jobs = jobs
        self._executor = executor
        self._settings = settings
        self._server_url = server_url
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name="dockyard-scheduler", daemon=True)
        self._lock = LeaderLock(jobs._db, settings.home, "scheduler")
        self.is_leader = False
        # Resolved once, at start: a user that does not exist stops the server, not each job.
        self._user = resolve_job_user(settings.job_user)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._jobs.wake.set()
        self._thread.join(10)
        self._lock.release()

    def _main(self) -> None:
        while not self._stopping.is_set():
            if self._lock.try_acquire():
                break
            self._stopping.wait(2.0)
        if self._stopping.is_set():
            return
        self.is_leader = True
        self._reconcile()
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._jobs.wake.wait(0.25)
            self._jobs.wake.clear()

    # -- the work -----------------------------------------------------------------------------

    def _reconcile(self) -> None:
        for row in self._jobs.with_status(JobStatus.IN_PROGRESS, JobStatus.STOPPING):
            if row.handle is None:
                self._fail(row, "the server stopped before the job's process started")
            elif not self._executor.alive(orjson.loads(row.handle)):
                self._ingest(row, row.events_offset)
                self._fail_if_unfinished(row, "while the server was down")
            else:
                log.info("reattached job %s", row.name)

    def tick(self) -> bool:
        """One pass: record reports, enforce stops and deadlines, start what fits.

        Returns whether any job is running (the caller then polls more often).
        """
        running = self._jobs.with_status(JobStatus.IN_PROGRESS, JobStatus.STOPPING)
        used = 0.0
        for row in running:
            offset = self._ingest(row, row.events_offset)
            handle = orjson.loads(row.handle) if row.handle else None
            if handle is None or not self._executor.alive(handle):
                self._ingest(row, offset)  # the last lines a runner wrote before exiting
                self._fail_if_unfinished(row, "")
                continue
            if row.stop_requested:
                self._executor.stop(handle)
            used += row.cpus
        now = now_ms()
        for row in self._jobs.with_status(JobStatus.PENDING):
            if row.queue_deadline is not None and now > row.queue_deadline:
                self._jobs.transition(
                    row.job_id,
                    SecondaryStatus.MAX_WAIT_TIME_EXCEEDED,
                    "the job waited in the queue longer than its max_wait_s",
                    failure_reason="MaxWaitTimeExceeded: no capacity within max_wait_s",
                )
                self._jobs.end_run(row.run_id, "FAILED")
                continue
            if used + row.cpus > self._jobs.capacity_cpus + 1e-9:
                break  # first in, first out: nothing overtakes the head of the queue
            self._launch(row)
            used += row.cpus
        return used > 0

    def _launch(self, row: Any) -> None:
        jd = self._jobs.job_dir(row.name)
        # Private to the server until the runner hands the working folders to the job.
        jd.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        jd.control.mkdir(mode=0o700, exist_ok=True)
        job = {
            "job_id": row.job_id,
            "name": row.name,
            "kind": row.kind,
            "spec": orjson.loads(row.spec),
            "run_id": row.run_id,
            "server_url": self._server_url,
            "s3_endpoint_url": self._settings.s3_endpoint_url,
            "stop_grace_s": self._settings.job_stop_grace_s,
            "checkpoint_sync_s": self._settings.job_checkpoint_sync_s,
            "model_cache": str(self._settings.home / "cache" / "models"),
            "env_cache": str(self._settings.home / "envs"),
            "token": self._jobs.issue_token(row),
            # The runner re-checks local locations against these at run time.
            "allowed_roots": self._jobs.roots.to_list(),
            # Names and NAME=value pairs: values are read from the runner's environment, so
            # passed-through secrets are not written to disk.
            "job_env": list(self._settings.job_env),
            "user": self._user.to_dict() if self._user else None,
            "opt_ml": self._settings.job_opt_ml,
        }
        # It holds the job's token: readable by the job's owner only.
        fd = os.open(jd.job_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps(job))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        self._jobs.transition(
            row.job_id,
            SecondaryStatus.STARTING,
            "",
            start_time=now_ms(),
            events_offset=0,
            executor=self._executor.name,
        )
        try:
            handle = self._executor.submit(jd.root, env)
        except OSError as exc:
            self._fail(row, f"could not start the job's process: {exc}")
            return
        self._jobs.update(row.job_id, handle=orjson.dumps(handle).decode())

    def _ingest(self, row: Any, start: int) -> int:
        """Apply the runner's events after byte ``start``; returns the new offset."""
        path: Path = self._jobs.job_dir(row.name).events
        events, offset = read_events(path, start)
        if offset == start:
            return start
        stopping = bool(row.stop_requested)
        progress = None
        for event in events:
            if "secondary_status" not in event:
                progress = event.get("progress", progress)
                continue
            try:
                secondary = SecondaryStatus(event["secondary_status"])
            except ValueError:
                continue
            values: dict[str, Any] = {"time_ms": int(event.get("time", now_ms()))}
            for key in ("failure_reason", "exit_code", "model_uri", "progress"):
                if key in event:
                    values[key] = (
                        orjson.dumps(event[key]).decode() if key == "progress" else event[key]
                    )
            status = JobStatus.STOPPING if stopping and not secondary.status.is_terminal else None
            if secondary is SecondaryStatus.STOPPED and not event.get("message"):
                event["message"] = "stopped"
            self._jobs.transition(
                row.job_id, secondary, str(event.get("message", "")), status=status, **values
            )
            if secondary.status.is_terminal:
                self._jobs.end_run(row.run_id, _RUN_STATUS[secondary.status])
        values = {"events_offset": offset}
        if progress is not None:
            values["progress"] = orjson.dumps(progress).decode()
        self._jobs.update(row.job_id, **values)
        return offset

    def _fail_if_unfinished(self, row: Any, when: str) -> None:
        if self._jobs.get(_SYSTEM, row.job_id).status.is_terminal:
            return
        tail = ""
        log_path = self._jobs.job_dir(row.name).control / "runner.log"
        if log_path.exists():
            tail = log_path.read_text(errors="replace")[-2000:]
        reason = f"the job's runner process exited without a final status {when}".strip()
        self._fail(row, f"{reason}\n{tail}".strip())

    def _fail(self, row: Any, reason: str) -> None:
        self._jobs.transition(row.job_id, SecondaryStatus.FAILED, reason, failure_reason=reason)
        self._jobs.end_run(row.run_id, "FAILED")
