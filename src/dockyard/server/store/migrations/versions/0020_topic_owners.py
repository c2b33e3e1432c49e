"""Custom topics remember the account that created them: only it (or an admin) publishes.

Topics made before are given the account their ``created_by`` names, where one does.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns("topics", ("owner_id",))
    op.execute(
        "UPDATE topics SET owner_id = (SELECT users.user_id FROM users "
        "WHERE users.name = topics.created_by) WHERE owner_id IS NULL"
    )


def downgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("topics")}
    if "owner_id" in have:
        with op.batch_alter_table("topics") as batch:
            batch.drop_column("owner_id")
