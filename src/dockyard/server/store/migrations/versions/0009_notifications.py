"""Notifications: custom topics, subscriptions, the delivery queue and its log.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("topics", "subscriptions", "deliveries", "delivery_attempts")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
