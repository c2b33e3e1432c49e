"""Pipelines: state machines, their executions and history, the tasks and timers they wait on.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = (
    "pipeline_state_machines",
    "pipeline_executions",
    "pipeline_history",
    "pipeline_tasks",
    "pipeline_timers",
)


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
