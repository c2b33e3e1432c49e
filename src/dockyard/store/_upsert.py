"""Insert-or-update across SQLite and PostgreSQL (both speak ``ON CONFLICT``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "upsert"]


def _insert(conn: Connection, table: Table) -> Any:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    where: Callable[[Any], ColumnElement[bool]] | None = None,
) -> None:
    """Insert ``rows``; on a key conflict overwrite the non-key columns.

    ``where`` receives the ``excluded`` pseudo-table and limits which conflicting rows change.
    """
    if not rows:
        return
    stmt = _insert(conn, table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_=updates, where=where(stmt.excluded) if where else None
    )
    conn.execute(stmt, list(rows))


def insert_ignore(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, keys: Sequence[str]
) -> int:
    """Insert ``rows``, skipping those whose key exists; returns how many were inserted."""
    if not rows:
        return 0
    stmt = (
        _insert(conn, table)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(table.c[keys[0]])
    )
    # Count RETURNING rows, not rowcount: drivers disagree on rowcount for upserts.
    return sum(len(conn.execute(stmt, row).all()) for row in rows)
