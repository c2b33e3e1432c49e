"""Pipelines: state machines, their executions and history, the tasks and timers they wait on.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The history table this revision made (``pipeline_history``, a row per event) is 0018's to
# replace; a database made after it gets the chunked one there instead.
TABLES = (
    "pipeline_state_machines",
    "pipeline_executions",
    "pipeline_tasks",
    "pipeline_timers",
)


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
    if sa.inspect(op.get_bind()).has_table("pipeline_history"):  # 0018's downgrade made it
        op.drop_table("pipeline_history")
