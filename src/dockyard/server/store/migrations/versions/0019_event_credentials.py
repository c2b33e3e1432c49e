"""Events name the credential their actor signed in with (a token's or access key's id).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns("events", ("credential",))


def downgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("events")}
    if "credential" in have:
        with op.batch_alter_table("events") as batch:
            batch.drop_column("credential")
