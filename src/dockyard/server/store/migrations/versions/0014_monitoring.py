"""Monitoring: schedules that check captured traffic, and their executions.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("monitoring_schedules", "monitoring_executions")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
