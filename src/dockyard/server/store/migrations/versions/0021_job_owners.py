"""Jobs remember the account that submitted them by id, not only by name: a name deleted and
given to a new account must not hand it the old account's jobs, nor their tokens.

Jobs submitted before are given the account their ``created_by`` names, where one does.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns("jobs", ("owner_id",))
    op.execute(
        "UPDATE jobs SET owner_id = (SELECT users.user_id FROM users "
        "WHERE users.name = jobs.created_by) WHERE owner_id IS NULL"
    )


def downgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}
    if "owner_id" in have:
        with op.batch_alter_table("jobs") as batch:
            batch.drop_column("owner_id")
