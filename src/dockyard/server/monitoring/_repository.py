"""SQL for monitoring schedules and their executions; callers own the transaction."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.store import schema

__all__ = ["MonitoringRepository"]

_S = schema.monitoring_schedules
_X = schema.monitoring_executions


class MonitoringRepository:
    """Reads and writes schedule and execution rows."""

    def insert(self, conn: Connection, **values: Any) -> None:
        try:
            conn.execute(_S.insert().values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(
                f"a monitoring schedule named {values['name']!r} exists", field="name"
            ) from exc

    def find(self, conn: Connection, name: str) -> Any | None:
        return conn.execute(select(_S).where(_S.c.name == name)).first()

    def require(self, conn: Connection, name: str) -> Any:
        row = self.find(conn, name)
        if row is None:
            raise NotFound(f"monitoring schedule {name!r} does not exist", field="name")
        return row

    def by_id(self, conn: Connection, schedule_id: str) -> Any | None:
        return conn.execute(select(_S).where(_S.c.schedule_id == schedule_id)).first()

    def list(
        self, conn: Connection, *, limit: int, offset: int, experiments: set[str] | None
    ) -> builtins.list[Any]:
        query = select(_S)
        if experiments is not None:
            query = query.where(_S.c.experiment_id.in_(sorted(experiments)))
        query = query.order_by(_S.c.created_time.desc(), _S.c.name).limit(limit).offset(offset)
        return list(conn.execute(query).all())

    def all(self, conn: Connection) -> builtins.list[Any]:
        return list(conn.execute(select(_S).order_by(_S.c.created_time)).all())

    def change(self, conn: Connection, schedule_id: str, **values: Any) -> None:
        conn.execute(update(_S).where(_S.c.schedule_id == schedule_id).values(**values))

    def move_cursor(self, conn: Connection, schedule_id: str, before: int, after: int) -> bool:
        """Move the window cursor from ``before`` to ``after``; False when another pass (or
        server) moved it first: the claim is this compare-and-set."""
        result = conn.execute(
            update(_S)
            .where(_S.c.schedule_id == schedule_id, _S.c.next_window_start == before)
            .values(next_window_start=after)
        )
        return bool(result.rowcount)

    def delete(self, conn: Connection, schedule_id: str) -> None:
        conn.execute(delete(_X).where(_X.c.schedule_id == schedule_id))
        conn.execute(delete(_S).where(_S.c.schedule_id == schedule_id))

    # -- executions -------------------------------------------------------------------------------

    def add_execution(self, conn: Connection, **values: Any) -> bool:
        """Insert an execution; False when its (schedule, window key) exists already (the loop
        leads alone; the unique key still refuses a second one if two servers raced)."""
        found = conn.execute(
            select(_X.c.execution_id).where(
                _X.c.schedule_id == values["schedule_id"],
                _X.c.window_key == values["window_key"],
            )
        ).first()
        if found is not None:
            return False
        conn.execute(_X.insert().values(**values))
        return True

    def execution(self, conn: Connection, execution_id: str) -> Any | None:
        return conn.execute(select(_X).where(_X.c.execution_id == execution_id)).first()

    def executions(
        self,
        conn: Connection,
        schedule_id: str,
        *,
        limit: int,
        offset: int,
        with_violations: bool = False,
    ) -> builtins.list[Any]:
        query = select(_X).where(_X.c.schedule_id == schedule_id)
        if with_violations:
            query = query.where(_X.c.violation_count > 0)
        query = query.order_by(_X.c.window_start.desc(), _X.c.created_time.desc())
        return list(conn.execute(query.limit(limit).offset(offset)).all())

    def latest(self, conn: Connection, schedule_id: str) -> Any | None:
        query = (
            select(_X)
            .where(_X.c.schedule_id == schedule_id, _X.c.kind == "data_quality")
            .order_by(_X.c.created_time.desc())
            .limit(1)
        )
        return conn.execute(query).first()

    def open_executions(self, conn: Connection, statuses: Sequence[str]) -> builtins.list[Any]:
        query = select(_X).where(_X.c.status.in_(list(statuses))).order_by(_X.c.created_time)
        return list(conn.execute(query).all())

    def change_execution(
        self, conn: Connection, execution_id: str, expected: Sequence[str], **values: Any
    ) -> bool:
        """Change an execution still in one of the ``expected`` statuses; False otherwise (a
        concurrent pass recorded it first)."""
        result = conn.execute(
            update(_X)
            .where(_X.c.execution_id == execution_id, _X.c.status.in_(list(expected)))
            .values(**values)
        )
        return bool(result.rowcount)
