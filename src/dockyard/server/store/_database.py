"""The metadata database: one object that hands out read and write transactions.

SQLite (the embedded default) runs in WAL mode so readers never block the writer. Its writers
start with ``BEGIN IMMEDIATE``: a deferred transaction that later upgrades to a write lock can
fail at once with "database is locked" (busy_timeout does not help an upgrade deadlock), while an
immediate one simply waits its turn. Reads use a separate engine with ordinary deferred
transactions so they never queue behind writers. PostgreSQL needs none of this: both context
managers share one engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from dockyard.errors import InvalidArgument, Unavailable

__all__ = ["Database"]

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode survives a process crash (the WAL is fsynced at checkpoints); only an OS
    # crash or power loss can drop the last transactions. That is the trade every embedded
    # tracking store makes for per-call commits in the tens of microseconds.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)


class Database:
    """Engines and transactions for one metadata database URL.

    Args:
        url: A SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.
        echo: Log SQL statements (debugging only).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidArgument(
                f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://",
                field="database_url",
            )
        self._write_lock = threading.Lock()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.read_engine = self._sqlite_engine(url, immediate=False, echo=echo)
            self.write_engine = self._sqlite_engine(url, immediate=True, echo=echo)
        else:
            engine = create_engine(
                url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20
            )
            self.read_engine = self.write_engine = engine

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, echo: bool) -> Engine:
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Straight to the driver: through SQLAlchemy's execution path the BEGIN cost ~20 µs,
            # as much as a small read's own SELECT.
            conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]

        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with _translate_errors(), self.read_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits without an exception."""
        if self.dialect == "sqlite":
            # One writer at a time per process: threads queue here instead of spinning on
            # SQLite's busy handler, which is much slower under contention.
            with self._write_lock, _translate_errors(), self.write_engine.begin() as conn:
                yield conn
        else:
            with _translate_errors(), self.write_engine.begin() as conn:
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


@contextmanager
def _translate_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise Unavailable(f"metadata database unavailable: {exc.orig}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable(f"metadata database connection lost: {exc.orig}") from exc
        raise
