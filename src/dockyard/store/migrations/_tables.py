"""What a migration that introduces tables does: create them from schema.py, by name.

The rule (see 0001): a migration creates the tables it introduces exactly as schema.py defines
them when it is written; later changes to a released table get a migration of their own, and
tests/store/test_migrations.py fails if a migrated database and schema.py ever disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from dockyard.store import schema

__all__ = ["create_tables", "drop_tables"]


def create_tables(names: Sequence[str]) -> None:
    schema.metadata.create_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in names]
    )


def drop_tables(names: Sequence[str]) -> None:
    schema.metadata.drop_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in reversed(names)]
    )
