"""Endpoint API keys: the digests of the keys each endpoint's data plane accepts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("endpoint_keys",)


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
