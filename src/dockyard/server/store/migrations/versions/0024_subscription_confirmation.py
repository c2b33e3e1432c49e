"""Webhook and email subscriptions wait for their endpoint's owner to confirm them.

Subscriptions made before are kept confirmed (the column's default): they were delivering,
and their owners chose them when no confirmation existed. Their deliveries are events.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_COLUMNS = {
    "subscriptions": (
        "state",
        "confirm_token",
        "confirm_expires_time",
        "used_token_digest",
        "confirmed_time",
        "confirmed_by",
    ),
    "deliveries": ("kind",),
}


def upgrade() -> None:
    for table, names in _COLUMNS.items():
        add_missing_columns(table, names)


def downgrade() -> None:
    for table, names in _COLUMNS.items():
        have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
        with op.batch_alter_table(table) as batch:
            for name in names:
                if name in have:
                    batch.drop_column(name)
