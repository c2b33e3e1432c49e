"""Accounts, tokens, sessions, grants, the event log, approval history; job ownership.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from dockyard.server.store import schema
from dockyard.server.store.migrations._tables import add_missing_columns, create_tables, drop_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = (
    "users",
    "tokens",
    "sessions",
    "grants",
    "events",
    "event_cursors",
    "model_version_approvals",
)


def upgrade() -> None:
    create_tables(TABLES)
    add_missing_columns("jobs", ("created_by", "experiment_id"))
    # MLflow clients log to experiment 0 when none is named: every signed-in user may add runs
    # there (and change only their own), as on a server without accounts.
    op.execute(
        schema.grants.insert().values(
            kind="experiment", resource_id="0", principal="*", level="edit"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("experiment_id")
        batch.drop_column("created_by")
    drop_tables(TABLES)
