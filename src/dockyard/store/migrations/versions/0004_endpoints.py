"""Endpoints: the control plane's record of real-time endpoints and their status history.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from dockyard.store import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("endpoints", "endpoint_events")


def upgrade() -> None:
    schema.metadata.create_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in TABLES]
    )


def downgrade() -> None:
    schema.metadata.drop_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in reversed(TABLES)]
    )
