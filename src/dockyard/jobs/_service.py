"""Job rules: submit (validated once), describe, list, stop, logs. The scheduler drives the rest."""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from dockyard.errors import InvalidArgument, NotFound
from dockyard.jobs._entities import Job, JobStatus, SecondaryStatus
from dockyard.jobs._layout import JobDir
from dockyard.jobs._repository import JobRepository
from dockyard.jobs._spec import TrainingJobSpec
from dockyard.jobs._uris import check_readable, local_path, scheme
from dockyard.settings import Settings
from dockyard.store import Database
from dockyard.tracking import (
    CreateExperiment,
    CreateRun,
    LogBatch,
    ParamIn,
    TagIn,
    TrackingService,
    now_ms,
)

__all__ = ["JobService"]


def _default_name(spec: TrainingJobSpec) -> str:
    base = spec.algorithm or (spec.entry_point or spec.module or "job").rsplit("/", 1)[-1]
    base = re.sub(r"[^a-zA-Z0-9]+", "-", base.removesuffix(".py")).strip("-")[:30] or "job"
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


class JobService:
    """The durable job queue's rules."""

    def __init__(self, db: Database, tracking: TrackingService, settings: Settings) -> None:
        self._db = db
        self._repo = JobRepository()
        self._tracking = tracking
        self._settings = settings
        self.capacity_cpus = float(settings.executor_cpus or os.cpu_count() or 1)
        self.wake = threading.Event()  # set on submit and stop, so the scheduler acts at once

    def job_dir(self, name: str) -> JobDir:
        return JobDir(self._settings.home / "jobs" / name)

    # -- submit ------------------------------------------------------------------------------

    def submit(self, spec: TrainingJobSpec, kind: str = "training") -> Job:
        """Validate ``spec`` against the world (URIs, capacity, algorithm) and queue it."""
        self._check(spec)
        name = spec.name or _default_name(spec)
        run_id = self._start_run(spec, name, kind)
        job_id = uuid.uuid4().hex
        now = now_ms()
        with self._db.write() as conn:
            self._repo.insert(
                conn,
                job_id=job_id,
                name=name,
                kind=kind,
                spec=orjson.dumps(spec.model_dump(mode="json")).decode(),
                status=JobStatus.PENDING.value,
                secondary_status=SecondaryStatus.PENDING.value,
                run_id=run_id,
                cpus=spec.resources.cpus,
                created_time=now,
                queue_deadline=now + spec.stopping_condition.max_wait_s * 1000
                if spec.stopping_condition.max_wait_s
                else None,
            )
            self._repo.transition(conn, job_id, SecondaryStatus.PENDING, now, "queued")
            job = self._repo.get(conn, job_id)
        self.wake.set()
        return job

    def _check(self, spec: TrainingJobSpec) -> None:
        if spec.resources.cpus > self.capacity_cpus:
            raise InvalidArgument(
                f"the job asks for {spec.resources.cpus:g} CPUs; this executor has "
                f"{self.capacity_cpus:g}",
                field="resources.cpus",
            )
        endpoint = self._settings.s3_endpoint_url
        if spec.source_dir is not None:
            check_readable(spec.source_dir, "source_dir", s3_endpoint_url=endpoint)
            if spec.entry_point and scheme(spec.source_dir) == "local":
                script = local_path(spec.source_dir) / spec.entry_point
                if not script.is_file():
                    raise InvalidArgument(
                        f"entry point {spec.entry_point!r} is not a file in {spec.source_dir}",
                        field="entry_point",
                    )
        for channel_name, channel in spec.inputs.items():
            field = f"inputs.{channel_name}.uri"
            if scheme(channel.uri, field) == "runs":
                self._check_run_uri(channel.uri, field)
            else:
                check_readable(channel.uri, field, s3_endpoint_url=endpoint)
        if spec.algorithm is not None:
            from dockyard.jobs.algorithms import BUILTIN_ALGORITHMS

            algorithm = BUILTIN_ALGORITHMS[spec.algorithm]
            missing = [c for c in algorithm.required_channels if c not in spec.inputs]
            if missing:
                raise InvalidArgument(
                    f"the {spec.algorithm} algorithm needs a {missing[0]!r} channel",
                    field=f"inputs.{missing[0]}",
                )
            algorithm.validate_hyperparameters(dict(spec.hyperparameters))

    def _check_run_uri(self, uri: str, field: str) -> None:
        run_id, _, _path = uri[len("runs:/") :].partition("/")
        try:
            self._tracking.get_run(run_id)
        except NotFound as exc:
            raise InvalidArgument(f"{uri}: run {run_id!r} does not exist", field=field) from exc

    def _start_run(self, spec: TrainingJobSpec, name: str, kind: str) -> str:
        experiment_name = spec.experiment or f"{kind}-jobs"
        try:
            experiment_id = self._tracking.get_experiment_by_name(experiment_name).experiment_id
        except NotFound:
            experiment_id = self._tracking.create_experiment(
                CreateExperiment(name=experiment_name)
            ).experiment_id
        tags = [
            TagIn(key="dockyard.job.name", value=name),
            TagIn(key="dockyard.job.kind", value=kind),
        ]
        tags += [TagIn(key=k, value=v) for k, v in spec.tags.items()]
        run = self._tracking.create_run(
            CreateRun(experiment_id=experiment_id, run_name=name, tags=tags)
        )
        params = [ParamIn(key=k, value=v) for k, v in spec.hyperparameters.items()]
        if spec.algorithm:
            params.append(ParamIn(key="algorithm", value=spec.algorithm))
        if params:
            self._tracking.log_batch(run.info.run_id, LogBatch(params=params[:100]))
        return run.info.run_id

    # -- read --------------------------------------------------------------------------------

    def get(self, name: str) -> Job:
        with self._db.read() as conn:
            return self._repo.get(conn, name)

    def list(
        self,
        *,
        kind: str | None = None,
        status: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        with self._db.read() as conn:
            return self._repo.list(conn, kind=kind, status=status, limit=limit, offset=offset)

    def read_log(self, name: str, offset: int, limit: int = 1 << 20) -> tuple[bytes, int, bool]:
        """Log bytes from ``offset``; the next offset; whether the job has ended."""
        job = self.get(name)
        path = self.job_dir(job.name).log
        data = b""
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(limit)
        return data, offset + len(data), job.status.is_terminal

    # -- change ------------------------------------------------------------------------------

    def stop(self, name: str) -> Job:
        """Ask a job to stop: a queued one stops at once, a running one gets SIGTERM, then
        SIGKILL after a grace period."""
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            status = JobStatus(row.status)
            if status.is_terminal:
                return self._repo.get(conn, row.job_id)
            if status is JobStatus.PENDING:
                self._repo.transition(
                    conn, row.job_id, SecondaryStatus.STOPPED, now_ms(), "stopped before it started"
                )
            else:
                self._repo.update(conn, row.job_id, stop_requested=True)
                if status is not JobStatus.STOPPING:
                    self._repo.transition(
                        conn, row.job_id, SecondaryStatus.STOPPING, now_ms(), "stop requested"
                    )
            job = self._repo.get(conn, row.job_id)
        self.job_dir(job.name).stop_file.parent.mkdir(parents=True, exist_ok=True)
        self.job_dir(job.name).stop_file.touch()
        self.wake.set()
        return job

    # -- used by the scheduler -----------------------------------------------------------------

    def with_status(self, *statuses: JobStatus) -> builtins.list[Any]:
        with self._db.read() as conn:
            return self._repo.rows_with_status(conn, statuses)

    def transition(
        self, job_id: str, secondary: SecondaryStatus, message: str = "", **values: Any
    ) -> None:
        with self._db.write() as conn:
            self._repo.transition(
                conn, job_id, secondary, values.pop("time_ms", None) or now_ms(), message, **values
            )

    def update(self, job_id: str, **values: Any) -> None:
        with self._db.write() as conn:
            self._repo.update(conn, job_id, **values)

    def end_run(self, run_id: str | None, status: str) -> None:
        if run_id is None:
            return
        from dockyard.tracking import RunStatus, UpdateRun

        # A run deleted meanwhile is fine: the job's own status still says it all.
        with contextlib.suppress(NotFound, InvalidArgument):
            self._tracking.update_run(run_id, UpdateRun(status=RunStatus(status)))
