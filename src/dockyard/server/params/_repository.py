"""SQL for parameters, their versions and labels; callers own the transaction."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import NotFound
from dockyard.server.store import schema

__all__ = ["ParamRepository"]

_P = schema.parameters
_V = schema.parameter_versions
_L = schema.parameter_labels


class ParamRepository:
    """Reads and writes parameter rows."""

    def head(self, conn: Connection, name: str, *, lock: bool = False) -> Any | None:
        """The parameter's row (latest version, owner), or None. ``lock``: held until the
        transaction ends (PostgreSQL), so that two puts on two server processes number their
        versions one after the other rather than both taking the next one."""
        query = select(_P).where(_P.c.name == name)
        return conn.execute(query.with_for_update() if lock else query).first()

    def require_head(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        row = self.head(conn, name, lock=lock)
        if row is None:
            raise NotFound(f"parameter {name} does not exist", field="name")
        return row

    def insert_head(self, conn: Connection, **values: Any) -> bool:
        """Insert a new parameter's row; False when another transaction made it meanwhile."""
        try:
            with conn.begin_nested():  # the transaction goes on when another put won the name
                conn.execute(_P.insert().values(**values))
        except IntegrityError:
            return False
        return True

    def update_head(self, conn: Connection, name: str, **values: Any) -> None:
        conn.execute(update(_P).where(_P.c.name == name).values(**values))

    def insert_version(self, conn: Connection, **values: Any) -> None:
        conn.execute(_V.insert().values(**values))

    def version(self, conn: Connection, name: str, version: int) -> Any | None:
        return conn.execute(select(_V).where(_V.c.name == name, _V.c.version == version)).first()

    def versions(self, conn: Connection, name: str, after: int, limit: int) -> builtins.list[Any]:
        """Versions above ``after``, oldest first."""
        query = (
            select(_V)
            .where(_V.c.name == name, _V.c.version > after)
            .order_by(_V.c.version)
            .limit(limit)
        )
        return list(conn.execute(query).all())

    def latest(self, conn: Connection, names: builtins.list[str]) -> dict[str, Any]:
        """The latest version row of each name."""
        if not names:
            return {}
        query = (
            select(_V)
            .join(_P, (_P.c.name == _V.c.name) & (_P.c.version == _V.c.version))
            .where(_P.c.name.in_(names))
        )
        return {row.name: row for row in conn.execute(query)}

    def heads_under(
        self, conn: Connection, path: str, after: str | None, limit: int
    ) -> builtins.list[Any]:
        """Parameters whose names start with ``path`` (a prefix ending in ``/``), by name."""
        query = select(_P).order_by(_P.c.name).limit(limit)
        if path != "/":
            query = query.where(_P.c.name.startswith(path, autoescape=True))
        if after is not None:
            query = query.where(_P.c.name > after)
        return list(conn.execute(query).all())

    # -- labels ---------------------------------------------------------------------------------

    def label_version(self, conn: Connection, name: str, label: str) -> int | None:
        return conn.execute(
            select(_L.c.version).where(_L.c.name == name, _L.c.label == label)
        ).scalar()

    def labels(self, conn: Connection, name: str) -> dict[int, builtins.list[str]]:
        """Labels by version."""
        found: dict[int, builtins.list[str]] = {}
        for row in conn.execute(select(_L).where(_L.c.name == name).order_by(_L.c.label)):
            found.setdefault(row.version, []).append(row.label)
        return found

    def labels_of(
        self, conn: Connection, names: builtins.list[str]
    ) -> dict[tuple[str, int], builtins.list[str]]:
        found: dict[tuple[str, int], builtins.list[str]] = {}
        if not names:
            return found
        for row in conn.execute(select(_L).where(_L.c.name.in_(names)).order_by(_L.c.label)):
            found.setdefault((row.name, row.version), []).append(row.label)
        return found

    def set_label(self, conn: Connection, name: str, label: str, version: int) -> None:
        conn.execute(delete(_L).where(_L.c.name == name, _L.c.label == label))
        conn.execute(_L.insert().values(name=name, label=label, version=version))

    def remove(self, conn: Connection, name: str) -> int:
        """Delete the parameter with its versions and labels; how many versions it had."""
        count = len(conn.execute(select(_V.c.version).where(_V.c.name == name)).all())
        conn.execute(delete(_L).where(_L.c.name == name))
        conn.execute(delete(_V).where(_V.c.name == name))
        conn.execute(delete(_P).where(_P.c.name == name))
        return count
