"""SQL for tuning jobs and their trials; callers own the transaction."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.store import schema

__all__ = ["TuningRepository"]

_T = schema.tuning_jobs
_R = schema.tuning_trials


class TuningRepository:
    """Reads and writes tuning job and trial rows."""

    def insert(self, conn: Connection, **values: Any) -> None:
        try:
            conn.execute(_T.insert().values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(
                f"a tuning job named {values['name']!r} exists", field="name"
            ) from exc

    def find(self, conn: Connection, name: str) -> Any | None:
        return conn.execute(select(_T).where(_T.c.name == name)).first()

    def require(self, conn: Connection, name: str) -> Any:
        row = self.find(conn, name)
        if row is None:
            raise NotFound(f"tuning job {name!r} does not exist", field="name")
        return row

    def by_id(self, conn: Connection, tuning_id: str) -> Any:
        return conn.execute(select(_T).where(_T.c.tuning_id == tuning_id)).one()

    def list(
        self,
        conn: Connection,
        *,
        status: Sequence[str] | None,
        limit: int,
        offset: int,
        experiments: set[str] | None,
    ) -> builtins.list[Any]:
        query = select(_T)
        if experiments is not None:
            query = query.where(_T.c.experiment_id.in_(sorted(experiments)))
        if status:
            query = query.where(_T.c.status.in_(list(status)))
        query = query.order_by(_T.c.created_time.desc(), _T.c.name).limit(limit).offset(offset)
        return list(conn.execute(query).all())

    def with_status(self, conn: Connection, statuses: Sequence[str]) -> builtins.list[Any]:
        return list(conn.execute(select(_T).where(_T.c.status.in_(list(statuses)))).all())

    def change(self, conn: Connection, tuning_id: str, **values: Any) -> None:
        conn.execute(update(_T).where(_T.c.tuning_id == tuning_id).values(**values))

    # -- trials -----------------------------------------------------------------------------------

    def trials(self, conn: Connection, tuning_id: str) -> builtins.list[Any]:
        query = select(_R).where(_R.c.tuning_id == tuning_id).order_by(_R.c.number)
        return list(conn.execute(query).all())

    def next_number(self, conn: Connection, tuning_id: str) -> int:
        found = conn.execute(
            select(func.max(_R.c.number)).where(_R.c.tuning_id == tuning_id)
        ).scalar()
        return 0 if found is None else int(found) + 1

    def add_trial(self, conn: Connection, **values: Any) -> None:
        """Insert a trial; its (tuning job, number) key refuses a second one of that number."""
        conn.execute(_R.insert().values(**values))

    def change_trial(self, conn: Connection, tuning_id: str, number: int, **values: Any) -> None:
        conn.execute(
            update(_R).where(_R.c.tuning_id == tuning_id, _R.c.number == number).values(**values)
        )
