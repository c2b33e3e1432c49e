"""Registry: registered models, versions, tags and aliases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from dockyard.store import schema

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
    schema.metadata.create_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in TABLES]
    )


def downgrade() -> None:
    schema.metadata.drop_all(
        op.get_bind(), tables=[schema.metadata.tables[name] for name in reversed(TABLES)]
    )
