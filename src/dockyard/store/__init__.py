"""Metadata store: the database, its schema and migrations. Repositories live with each service."""

from __future__ import annotations

from dockyard.store._database import Database
from dockyard.store._migrate import migrate

__all__ = ["Database", "migrate", "open_database"]


def open_database(url: str) -> Database:
    """Open the metadata database at ``url`` and migrate it to the newest schema."""
    db = Database(url)
    migrate(db)
    return db
