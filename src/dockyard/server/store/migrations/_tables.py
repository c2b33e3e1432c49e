"""What a migration that introduces tables does: create them from schema.py, by name.

The rule (see 0001): a migration creates the tables it introduces exactly as schema.py defines
them when it is written; later changes to a released table get a migration of their own, and
tests/server/store/test_migrations.py fails if a migrated database and schema.py ever disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dockyard.server.store import schema

__all__ = ["add_missing_columns", "create_tables", "drop_tables"]


def create_tables(names: Sequence[str]) -> None:
    schema.metadata.create_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in names]
    )


def drop_tables(names: Sequence[str]) -> None:
    schema.metadata.drop_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in reversed(names)]
    )


def add_missing_columns(table: str, names: Sequence[str]) -> None:
    """Add columns of ``table`` as schema.py defines them, where the database lacks them.

    An earlier migration that created ``table`` from the current schema.py already made them on
    a fresh database; a database migrated before the columns existed gets them here.
    """
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    missing = [n for n in names if n not in have]
    if not missing:
        return
    with op.batch_alter_table(table) as batch:
        for name in missing:
            column = schema.metadata.tables[table].c[name]
            # The server default comes along: a NOT NULL column added to a table with rows
            # needs it to fill them.
            default = column.server_default
            text = default.arg if isinstance(default, sa.DefaultClause) else None
            batch.add_column(
                sa.Column(
                    name,
                    column.type,
                    nullable=column.nullable,
                    server_default=text if isinstance(text, str) else None,
                )
            )
