"""Runs and logged models remember the account that made them by id, not only by name: a name
deleted and given to a new account must not make it their author.

Those made before are given the account their ``user_id`` (a run's) or ``creator`` (a logged
model's) names, where one does, as the name made them its author until now.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_NAMED_BY = (("runs", "user_id"), ("logged_models", "creator"))


def upgrade() -> None:
    for table, name in _NAMED_BY:
        add_missing_columns(table, ("owner_id",))
        op.execute(
            f"UPDATE {table} SET owner_id = (SELECT users.user_id FROM users "
            f"WHERE users.name = {table}.{name}) WHERE owner_id IS NULL"
        )


def downgrade() -> None:
    for table, _ in _NAMED_BY:
        have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        if "owner_id" in have:
            with op.batch_alter_table(table) as batch:
                batch.drop_column("owner_id")
