"""State machines keep their tags (CreateStateMachine's, TagResource's).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing_columns("pipeline_state_machines", ("tags",))


def downgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("pipeline_state_machines")}
    if "tags" in have:
        with op.batch_alter_table("pipeline_state_machines") as batch:
            batch.drop_column("tags")
