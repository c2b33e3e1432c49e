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
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from dockyard.errors import Conflict, InvalidArgument, NotFound, invalid_from_validation
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


def _validated(model: type[Any], body: dict[str, Any]) -> Any:
    """Validate ``body`` as ``model`` with the API's error shape (the field is named)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from exc


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
        # Set by the server to the registry's resolver, so models:/ URIs are checked at submit.
        self.resolve_model: Callable[[str], object] | None = None

    def job_dir(self, name: str) -> JobDir:
        return JobDir(self._settings.home / "jobs" / name)

    # -- submit ------------------------------------------------------------------------------

    def submit(self, spec: TrainingJobSpec) -> Job:
        """Validate a training spec against the world (URIs, capacity, algorithm) and queue it."""
        self._check(spec)
        name = spec.name or _default_name(spec)
        params = dict(spec.hyperparameters)
        if spec.algorithm:
            params["algorithm"] = spec.algorithm
        run_id = self._start_run(name, "training", spec.experiment, spec.tags, params)
        return self._enqueue(
            name,
            "training",
            spec.model_dump(mode="json"),
            run_id,
            spec.resources.cpus,
            spec.stopping_condition.max_wait_s,
        )

    def submit_transform(self, body: dict[str, Any], output_root: str) -> Job:
        """Validate and queue a transform job; its output defaults to
        ``<output_root>/<job name>``."""
        from dockyard.jobs._transform import TransformJobSpec

        body = dict(body)
        name = body.get("name") or (
            f"transform-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"
        )
        body["name"] = name
        output = body.get("output", body.get("TransformOutput"))
        if output is None or (
            isinstance(output, dict) and not output.get("uri", output.get("S3OutputPath"))
        ):
            extra = output if isinstance(output, dict) else {}
            body["output"] = {**extra, "uri": f"{output_root.rstrip('/')}/{name}"}
            body.pop("TransformOutput", None)
        spec = _validated(TransformJobSpec, body)
        self._check_transform(spec)
        params = {
            "model_uri": spec.model_uri,
            "input_uri": spec.input.uri,
            "content_type": spec.input.content_type,
            "batch_strategy": spec.batch_strategy,
        }
        run_id = self._start_run(name, "transform", spec.experiment, spec.tags, params)
        cpus = float(spec.max_concurrent_transforms or self.capacity_cpus)
        return self._enqueue(
            name,
            "transform",
            spec.model_dump(mode="json"),
            run_id,
            min(cpus, self.capacity_cpus),
            None,
        )

    def _check_transform(self, spec: Any) -> None:
        endpoint = self._settings.s3_endpoint_url
        uri = spec.model_uri
        if uri.startswith("runs:/"):
            self._check_run_uri(uri, "model_uri")
        elif uri.startswith("models:/"):
            self._check_registered(uri)
        else:
            check_readable(uri, "model_uri", s3_endpoint_url=endpoint)
        check_readable(spec.input.uri, "input.uri", s3_endpoint_url=endpoint)

    def resume(self, name: str) -> Job:
        """Queue a failed or stopped transform job again; finished shards are not redone."""
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            status = JobStatus(row.status)
            if row.kind != "transform":
                raise InvalidArgument(
                    f"job {name!r} is a {row.kind} job; only transform jobs resume "
                    "(training jobs restart from their checkpoints with retry_strategy)",
                    field="name",
                )
            if status not in (JobStatus.FAILED, JobStatus.STOPPED):
                raise Conflict(
                    f"job {name!r} is {status.value}; only a failed or stopped job resumes",
                    field="name",
                )
            self._repo.transition(
                conn,
                row.job_id,
                SecondaryStatus.PENDING,
                now_ms(),
                "resumed",
                stop_requested=False,
                failure_reason=None,
                exit_code=None,
                end_time=None,
                handle=None,
            )
            job = self._repo.get(conn, row.job_id)
        self.job_dir(job.name).stop_file.unlink(missing_ok=True)
        if job.run_id:
            from dockyard.tracking import RunStatus, UpdateRun

            with contextlib.suppress(NotFound, InvalidArgument):
                self._tracking.update_run(job.run_id, UpdateRun(status=RunStatus.RUNNING))
        self.wake.set()
        return job

    def _enqueue(
        self,
        name: str,
        kind: str,
        spec: dict[str, Any],
        run_id: str,
        cpus: float,
        max_wait_s: int | None,
    ) -> Job:
        job_id = uuid.uuid4().hex
        now = now_ms()
        with self._db.write() as conn:
            self._repo.insert(
                conn,
                job_id=job_id,
                name=name,
                kind=kind,
                spec=orjson.dumps(spec).decode(),
                status=JobStatus.PENDING.value,
                secondary_status=SecondaryStatus.PENDING.value,
                run_id=run_id,
                cpus=cpus,
                created_time=now,
                queue_deadline=now + max_wait_s * 1000 if max_wait_s else None,
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
            algorithm.validate_channels({k: c.content_type for k, c in spec.inputs.items()})
            algorithm.validate_hyperparameters(dict(spec.hyperparameters))

    def _check_registered(self, uri: str) -> None:
        from dockyard.registry._uris import parse_model_uri

        parse_model_uri(uri, "model_uri")
        if self.resolve_model is not None:
            try:
                self.resolve_model(uri)
            except NotFound as exc:
                raise InvalidArgument(str(exc), field="model_uri") from exc

    def _check_run_uri(self, uri: str, field: str) -> None:
        run_id, _, _path = uri[len("runs:/") :].partition("/")
        try:
            self._tracking.get_run(run_id)
        except NotFound as exc:
            raise InvalidArgument(f"{uri}: run {run_id!r} does not exist", field=field) from exc

    def _start_run(
        self,
        name: str,
        kind: str,
        experiment: str | None,
        tags: dict[str, str],
        params: dict[str, str],
    ) -> str:
        experiment_name = experiment or f"{kind}-jobs"
        try:
            experiment_id = self._tracking.get_experiment_by_name(experiment_name).experiment_id
        except NotFound:
            experiment_id = self._tracking.create_experiment(
                CreateExperiment(name=experiment_name)
            ).experiment_id
        all_tags = [
            TagIn(key="dockyard.job.name", value=name),
            TagIn(key="dockyard.job.kind", value=kind),
            *(TagIn(key=k, value=v) for k, v in tags.items()),
        ]
        run = self._tracking.create_run(
            CreateRun(experiment_id=experiment_id, run_name=name, tags=all_tags)
        )
        items = [ParamIn(key=k, value=v) for k, v in params.items()]
        if items:
            self._tracking.log_batch(run.info.run_id, LogBatch(params=items[:100]))
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
