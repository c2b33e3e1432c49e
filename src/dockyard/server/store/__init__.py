"""Metadata store: the database, its schema and migrations. Repositories live with each service."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dockyard.errors import Unavailable
from dockyard.server.store._database import Database, WriterBusy, after_commit
from dockyard.server.store._driver import DriverInsert, DriverSelect
from dockyard.server.store._grouped import GroupedWrites
from dockyard.server.store._leader import LeaderLock
from dockyard.server.store._migrate import migrate
from dockyard.server.store._upsert import insert_ignore, upsert, upsert_statement

__all__ = [
    "Database",
    "DriverInsert",
    "DriverSelect",
    "GroupedWrites",
    "LeaderLock",
    "WriterBusy",
    "after_commit",
    "insert_ignore",
    "migrate",
    "open_database",
    "upsert",
    "upsert_statement",
]


def open_database(url: str) -> Database:
    """Open the metadata database at ``url`` and migrate it to the newest schema.

    Raises:
        InvalidArgument: ``url`` is not a database URL Dockyard supports.
        Unavailable: The database cannot be reached or refused the connection (wrong
            credentials, no such database): one line naming the database, its password hidden.
    """
    db = Database(url)
    try:
        migrate(db)
    except DBAPIError as exc:
        db.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        # The first line: what PostgreSQL adds after it (the statement, hints) is noise here.
        lines = str(exc.orig).strip().splitlines()
        reason = " ".join(lines[0].split()) if lines else type(exc.orig).__name__
        raise Unavailable(f"metadata database {where} cannot be used: {reason}") from exc
    return db
