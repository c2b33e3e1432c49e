"""Access keys: AWS-style key ids and secrets whose SigV4 signatures the server verifies.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("access_keys",)


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
