"""SQL for jobs and their events; callers own the transaction."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.api.jobs import Job, JobEvent, JobStatus, SecondaryStatus
from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.store import schema

__all__ = ["JobRepository"]

_J = schema.jobs
_E = schema.job_events


class JobRepository:
    """Reads and writes the durable queue."""

    def insert(self, conn: Connection, **values: Any) -> None:
        try:
            conn.execute(_J.insert().values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(f"a job named {values['name']!r} exists", field="name") from exc

    def require_free_name(self, conn: Connection, name: str) -> None:
        """Raises AlreadyExists when a job has ``name`` (its id and its name are looked up
        alike, as :meth:`row` does)."""
        taken = conn.execute(
            select(_J.c.job_id).where((_J.c.name == name) | (_J.c.job_id == name))
        ).first()
        if taken is not None:
            raise AlreadyExists(f"a job named {name!r} exists", field="name")

    def row(self, conn: Connection, name_or_id: str) -> Any:
        row = conn.execute(
            select(_J).where((_J.c.name == name_or_id) | (_J.c.job_id == name_or_id))
        ).first()
        if row is None:
            raise NotFound(f"job {name_or_id!r} does not exist", field="name")
        return row

    def get(self, conn: Connection, name_or_id: str) -> Job:
        row = self.row(conn, name_or_id)
        events = conn.execute(select(_E).where(_E.c.job_id == row.job_id).order_by(_E.c.seq)).all()
        job = self._job(row, events)
        registered = self._registered(conn, job)
        return job.model_copy(update={"registered_version": registered}) if registered else job

    @staticmethod
    def _registered(conn: Connection, job: Job) -> str | None:
        """The version the job registered (``models:/<name>/<n>``): of the model its
        ``output.register_as`` names, made from its run. Read from the registry rather than
        kept on the job, so a version deleted since is no longer named."""
        name = (job.spec.get("output") or {}).get("register_as")
        if not name or job.run_id is None:
            return None
        m, v = schema.registered_models, schema.model_versions
        number = conn.execute(
            select(func.max(v.c.version))
            .join(m, m.c.model_id == v.c.model_id)
            .where(m.c.name == name, v.c.run_id == job.run_id)
        ).scalar()
        return None if number is None else f"models:/{name}/{number}"

    def named(self, conn: Connection, names: Sequence[str]) -> dict[str, Job]:
        """The jobs of ``names`` that exist, by name, without their events: one read."""
        query = select(_J).where(_J.c.name.in_(list(names)))
        return {row.name: self._job(row, []) for row in conn.execute(query)}

    def list(
        self,
        conn: Connection,
        *,
        kind: str | None,
        status: Sequence[str] | None,
        limit: int,
        offset: int,
        experiments: set[str] | None = None,
    ) -> list[Job]:
        query = select(_J)
        if experiments is not None:  # the experiments a reader may see
            query = query.where(_J.c.experiment_id.in_([int(e) for e in experiments]))
        if kind:
            query = query.where(_J.c.kind == kind)
        if status:
            query = query.where(_J.c.status.in_(list(status)))
        query = query.order_by(_J.c.created_time.desc(), _J.c.job_id).limit(limit).offset(offset)
        return [self._job(row, []) for row in conn.execute(query)]

    def rows_with_status(
        self, conn: Connection, statuses: Sequence[JobStatus]
    ) -> builtins.list[Any]:
        query = (
            select(_J)
            .where(_J.c.status.in_([s.value for s in statuses]))
            .order_by(_J.c.created_time, _J.c.job_id)
        )
        return list(conn.execute(query).all())

    def transition(
        self,
        conn: Connection,
        job_id: str,
        secondary: SecondaryStatus,
        time_ms: int,
        message: str = "",
        *,
        status: JobStatus | None = None,
        **values: Any,
    ) -> None:
        """Record a status transition and apply ``values`` to the job row.

        ``status`` overrides the primary status the secondary one implies (a job being stopped
        stays Stopping while its runner still reports progress).
        """
        seq = conn.execute(
            select(func.coalesce(func.max(_E.c.seq), -1) + 1).where(_E.c.job_id == job_id)
        ).scalar_one()
        status = status or secondary.status
        conn.execute(
            _E.insert().values(
                job_id=job_id,
                seq=seq,
                time=time_ms,
                status=status.value,
                secondary_status=secondary.value,
                message=message[:4000],
            )
        )
        values.update(status=status.value, secondary_status=secondary.value)
        if status.is_terminal:
            values.setdefault("end_time", time_ms)
        conn.execute(update(_J).where(_J.c.job_id == job_id).values(**values))

    def update(self, conn: Connection, job_id: str, **values: Any) -> None:
        conn.execute(update(_J).where(_J.c.job_id == job_id).values(**values))

    @staticmethod
    def _job(row: Any, events: Sequence[Any]) -> Job:
        return Job(
            job_id=row.job_id,
            name=row.name,
            kind=row.kind,
            status=JobStatus(row.status),
            secondary_status=SecondaryStatus(row.secondary_status),
            spec=orjson.loads(row.spec),
            failure_reason=row.failure_reason,
            exit_code=row.exit_code,
            run_id=row.run_id,
            model_uri=row.model_uri,
            created_time=row.created_time,
            start_time=row.start_time,
            end_time=row.end_time,
            progress=orjson.loads(row.progress) if row.progress else None,
            created_by=row.created_by,
            executor=row.executor,
            experiment_id=None if row.experiment_id is None else str(row.experiment_id),
            parameters=orjson.loads(row.parameters) if row.parameters else [],
            events=[
                JobEvent(
                    time=e.time,
                    status=JobStatus(e.status),
                    secondary_status=SecondaryStatus(e.secondary_status),
                    message=e.message,
                )
                for e in events
            ],
        )
