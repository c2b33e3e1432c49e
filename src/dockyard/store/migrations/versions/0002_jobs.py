"""Jobs: the durable queue of training (and later transform) jobs and their status history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from dockyard.store import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("jobs", "job_events")


def upgrade() -> None:
    schema.metadata.create_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in TABLES]
    )


def downgrade() -> None:
    schema.metadata.drop_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in reversed(TABLES)]
    )
