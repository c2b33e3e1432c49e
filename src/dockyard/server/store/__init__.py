"""Metadata store: the database, its schema and migrations. Repositories live with each service."""

from __future__ import annotations

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
    """Open the metadata database at ``url`` and migrate it to the newest schema."""
    db = Database(url)
    migrate(db)
    return db
