"""Jobs: the durable queue of training (and later transform) jobs and their status history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("jobs", "job_events")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
