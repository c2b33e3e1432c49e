"""Pipeline executions: listing a machine's executions by status reads only those.

The index on status alone left ``ListExecutions`` with a status filter (RUNNING, say) reading
every execution the machine ever had; one over (machine, status, start time) replaces it. A
database created from 0012 since then already has it.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLE = "pipeline_executions"
_OLD = "ix_pipeline_executions_status"
_NEW = "ix_pipeline_executions_state_machine_arn_status_start_time"


def upgrade() -> None:
    if _OLD not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(_TABLE)}:
        return
    op.drop_index(_OLD, table_name=_TABLE)
    op.create_index(_NEW, _TABLE, ["state_machine_arn", "status", "start_time"])


def downgrade() -> None:
    op.drop_index(_NEW, table_name=_TABLE)
    op.create_index(_OLD, _TABLE, ["status"])
