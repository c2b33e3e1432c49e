"""Registry: registered models, versions, tags and aliases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "model_aliases",
)


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
