"""Prebuilt statements that SQLite runs on its own driver, for the hottest requests.

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

:class:`DriverInsert` does the same for the inserts (upserts too) of a metric logged per call:
the history row, the latest value and the event, whose three executions through SQLAlchemy cost
more than the SQL. Values go to the driver as given (tuples in the columns' order), so only
columns that SQLAlchemy would not convert on the way in are accepted, and two whose conversion
SQLite does itself: a Boolean (Python's bool is stored as 1 or 0) and a Float (a REAL column
stores an integer as a float; callers pass floats).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, Connection, Float, Insert, Select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from dockyard.errors import Unavailable

__all__ = ["DriverInsert", "DriverSelect"]

_SQLITE = sqlite.dialect(paramstyle="named")
_SQLITE_QMARK = sqlite.dialect(paramstyle="qmark")


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


class DriverInsert:
    """One prebuilt INSERT (or upsert) of ``columns``, its rows handed to the driver as tuples.

    On SQLite the ``sqlite3`` connection beneath the transaction's runs it; elsewhere
    SQLAlchemy's ``exec_driver_sql`` does (its error translation, none of its per-row parameter
    processing), with the SQL compiled once for that database.

    Args:
        build: The insert for a dialect's name (an upsert is written per dialect), without
            values.
        columns: The columns each row gives, in order.

    Raises:
        ValueError: When a column converts its values on the way in, or the statement binds
            anything but the columns' values.
    """

    def __init__(self, build: Callable[[str], Insert], columns: Sequence[str]) -> None:
        statement = build("sqlite")
        table = statement.table
        for name in columns:
            kind = table.c[name].type
            if isinstance(kind, (Boolean, Float)):
                continue
            if kind.dialect_impl(_SQLITE_QMARK).bind_processor(_SQLITE_QMARK) is not None:
                raise ValueError(f"column {name!r} converts its values; not on the driver")
        self.build = build
        self.columns = tuple(columns)
        self.sql = self._compile(statement, _SQLITE_QMARK)
        self._elsewhere: dict[str, str] = {}

    def _compile(self, statement: Insert, dialect: Dialect) -> str:
        compiled = statement.compile(dialect=dialect, column_keys=list(self.columns))
        if list(compiled.positiontup or ()) != list(self.columns):
            raise ValueError(f"the statement binds {compiled.positiontup}, not the columns")
        return str(compiled)

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (each the columns' values, in order) in ``conn``'s transaction."""
        dialect = conn.dialect
        if dialect.name != "sqlite":
            sql = self._elsewhere.get(dialect.name)
            if sql is None:
                positional: Dialect = type(dialect)(paramstyle="format")  # type: ignore[call-arg]
                sql = self._elsewhere[dialect.name] = self._compile(
                    self.build(dialect.name), positional
                )
            conn.exec_driver_sql(sql, list(rows))
            return
        driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        try:
            if len(rows) == 1:
                driver.execute(self.sql, rows[0])
            else:
                driver.executemany(self.sql, rows)
        except sqlite3.IntegrityError as exc:  # as SQLAlchemy raises it
            raise IntegrityError(self.sql, None, exc) from exc
        except sqlite3.OperationalError as exc:  # as Database's own transactions report it
            raise Unavailable(f"metadata database unavailable: {exc}") from exc
