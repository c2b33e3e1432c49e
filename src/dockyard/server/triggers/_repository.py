"""SQL for triggers and their firings; callers own the transaction."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from dockyard.errors import NotFound
from dockyard.server.store import insert_ignore, schema

__all__ = ["TriggerRepository"]

_T = schema.triggers
_F = schema.trigger_firings


class TriggerRepository:
    """Reads and writes trigger and firing rows."""

    def find(self, conn: Connection, name: str) -> Any | None:
        return conn.execute(select(_T).where(_T.c.name == name)).first()

    def require(self, conn: Connection, name: str) -> Any:
        row = self.find(conn, name)
        if row is None:
            raise NotFound(f"no trigger named {name}", field="name")
        return row

    def by_id(self, conn: Connection, trigger_id: str) -> Any | None:
        return conn.execute(select(_T).where(_T.c.trigger_id == trigger_id)).first()

    def insert(self, conn: Connection, **values: Any) -> None:
        conn.execute(_T.insert().values(**values))

    def all(self, conn: Connection, kind: str | None = None) -> builtins.list[Any]:
        query = select(_T).order_by(_T.c.name)
        if kind is not None:
            query = query.where(_T.c.kind == kind, _T.c.enabled.is_(True))
        return list(conn.execute(query).all())

    def remove(self, conn: Connection, trigger_id: str) -> None:
        conn.execute(delete(_F).where(_F.c.trigger_id == trigger_id))
        conn.execute(delete(_T).where(_T.c.trigger_id == trigger_id))

    def change(self, conn: Connection, trigger_id: str, values: dict[str, Any]) -> None:
        conn.execute(update(_T).where(_T.c.trigger_id == trigger_id).values(**values))

    def set_state(self, conn: Connection, trigger_id: str, state: str) -> None:
        conn.execute(update(_T).where(_T.c.trigger_id == trigger_id).values(state=state))

    def take_cooldown(
        self, conn: Connection, row: Any, now: int, *, ignore_cooldown: bool = False
    ) -> bool:
        """Move ``last_fired_time`` to ``now`` unless the cooldown is running: a conditional
        update, so of two servers racing, one wins (PostgreSQL re-checks the condition after
        the row lock; SQLite has one writer). ``ignore_cooldown``: move it anyway (a firing
        by hand starts the cooldown without waiting for it)."""
        values: dict[str, Any] = {"last_fired_time": now}
        query = update(_T).where(_T.c.trigger_id == row.trigger_id).values(**values)
        if row.cooldown_s > 0 and not ignore_cooldown:
            edge = now - int(row.cooldown_s * 1000)
            query = query.where(or_(_T.c.last_fired_time.is_(None), _T.c.last_fired_time <= edge))
        return bool(conn.execute(query).rowcount)

    # -- firings --------------------------------------------------------------------------------

    def claim(self, conn: Connection, **values: Any) -> int | None:
        """Insert a firing unless its (trigger, cause) exists; its id, or None."""
        if not insert_ignore(conn, _F, [values], keys=("trigger_id", "cause_key")):
            return None
        found = conn.execute(
            select(_F.c.firing_id).where(
                _F.c.trigger_id == values["trigger_id"], _F.c.cause_key == values["cause_key"]
            )
        ).scalar()
        return int(found) if found is not None else None

    def firing(self, conn: Connection, firing_id: int) -> Any:
        return conn.execute(select(_F).where(_F.c.firing_id == firing_id)).one()

    def finish(self, conn: Connection, firing_id: int, **values: Any) -> None:
        conn.execute(update(_F).where(_F.c.firing_id == firing_id).values(**values))

    def firings(
        self, conn: Connection, trigger_id: str, limit: int, before: int | None
    ) -> builtins.list[Any]:
        query = select(_F).where(_F.c.trigger_id == trigger_id)
        if before is not None:
            query = query.where(_F.c.firing_id < before)
        return list(conn.execute(query.order_by(_F.c.firing_id.desc()).limit(limit)).all())

    def made(self, conn: Connection, trigger_id: str, work: str) -> builtins.list[Any]:
        """The trigger's firings that may have started ``work`` (a job or execution name):
        those that recorded it, and those still pending, whose work is not recorded yet."""
        query = select(_F.c.job, _F.c.cause_key).where(
            _F.c.trigger_id == trigger_id, or_(_F.c.job == work, _F.c.status == "pending")
        )
        return list(conn.execute(query.limit(1000)).all())

    def stale(self, conn: Connection, before: int) -> builtins.list[Any]:
        """Firings claimed before ``before`` whose work was never recorded (a crash)."""
        query = select(_F).where(_F.c.status == "pending", _F.c.updated_time < before)
        return list(conn.execute(query.limit(100)).all())
