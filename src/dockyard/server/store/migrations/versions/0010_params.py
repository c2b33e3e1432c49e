"""Parameters: versioned, hierarchical configuration values, their versions and labels; and
the parameter versions a job was submitted with.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns, create_tables, drop_tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("parameters", "parameter_versions", "parameter_labels")


def upgrade() -> None:
    create_tables(TABLES)
    add_missing_columns("jobs", ("parameters",))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("parameters")
    drop_tables(TABLES)
