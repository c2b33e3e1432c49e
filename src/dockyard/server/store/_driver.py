"""Prebuilt SELECTs that SQLite runs on its own driver, for the reads of the hottest requests.

A SQLAlchemy Core execution of a statement found in the compiled cache still costs ~17-20 µs
here (execution context, parameter processing, result metadata, events), against ~2-3 µs for
the same SQL on the ``sqlite3`` connection: reading one run takes six statements, so that
overhead was most of the read. :class:`DriverSelect` compiles its statement for SQLite once and
runs the SQL text on the driver connection beneath the transaction's connection (the same
connection, so the same transaction and snapshot); on PostgreSQL it executes the statement as
usual. Rows are plain tuples in the statement's column order on both.

Only statements whose columns need no conversion from the driver's values are accepted, so
SQLite's rows equal SQLAlchemy's; a Boolean column (0 or 1 from SQLite) is allowed, for callers
that only test its truth.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Boolean, Connection, Select
from sqlalchemy.dialects import sqlite

from dockyard.errors import Unavailable

__all__ = ["DriverSelect"]

_SQLITE = sqlite.dialect(paramstyle="named")


class DriverSelect:
    """One prebuilt SELECT, run on the ``sqlite3`` driver when the connection is SQLite.

    Args:
        statement: The statement; its bound parameters are named and never expanding.

    Raises:
        ValueError: When a column's values would differ between the two paths (a type that
            converts the driver's values), or a parameter is expanding.
    """

    def __init__(self, statement: Select[Any]) -> None:
        for column in statement.selected_columns:
            kind = column.type
            if isinstance(kind, Boolean):
                continue
            if kind.dialect_impl(_SQLITE).result_processor(_SQLITE, None) is not None:
                raise ValueError(f"column {column.key!r} converts its values; not on the driver")
        compiled = statement.compile(dialect=_SQLITE)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an expanding parameter is rendered per call; not on the driver")
        self.statement = statement
        self.sql = str(compiled)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Iterable[Any]:
        """The rows for ``params`` (iterate them once, within the transaction; the caller's
        statements are small reads, so SQLite's are fetched whole, where an error is caught)."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params)
        driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            return driver.execute(self.sql, params).fetchall()
        except sqlite3.OperationalError as exc:  # as Database's own transactions report it
            raise Unavailable(f"metadata database unavailable: {exc}") from exc
