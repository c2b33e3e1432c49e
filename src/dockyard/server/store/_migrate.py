"""Apply migrations on start: idempotent, and safe when two processes start at once."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dockyard.server.store._database import Database

__all__ = ["migrate"]

# Arbitrary constant naming Dockyard's advisory lock in PostgreSQL.
_PG_LOCK_ID = 0x646F636B


def migrate(db: Database) -> None:
    """Bring the database schema to the newest revision.

    Concurrent callers serialise on a lock (an advisory lock in PostgreSQL, a lock file beside a
    SQLite database); the second finds the work done and returns.
    """
    with _migration_lock(db), db.write_engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
        try:
            cfg = Config()
            cfg.set_main_option("script_location", "dockyard.server.store:migrations")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        except BaseException:
            # PostgreSQL refuses every statement of a failed transaction: without this, the
            # unlock below would fail and hide why the migration did (a missing privilege...).
            conn.rollback()
            raise
        finally:
            if db.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                conn.commit()


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    database = make_url(db.url).database
    if db.dialect != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_suffix(".migrate.lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
