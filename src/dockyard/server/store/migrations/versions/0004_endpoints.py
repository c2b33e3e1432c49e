"""Endpoints: the control plane's record of real-time endpoints and their status history.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("endpoints", "endpoint_events")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
