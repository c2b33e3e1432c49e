"""Triggers: what starts work on a schedule, a git push, new objects or an event, and the
firings that record each cause once.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("triggers", "trigger_firings")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
