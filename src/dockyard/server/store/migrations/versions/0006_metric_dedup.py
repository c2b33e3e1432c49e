"""Metrics: a point identical in key, value, step and timestamp is stored once, as in MLflow.

Duplicates stored before are dropped (the first one stays), then a unique index over the point
replaces the history index it extends. A database created from 0001 since then already has it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_POINT = ["run_id", "key", "step", "timestamp", "value", "is_nan"]
_OLD, _NEW = "ix_metrics_run_id_key_step", "ix_metrics_run_id_key_step_timestamp_value_is_nan"


def upgrade() -> None:
    if _OLD not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("metrics")}:
        return
    point = ", ".join(_POINT)
    op.execute(
        f"DELETE FROM metrics WHERE id NOT IN (SELECT MIN(id) FROM metrics GROUP BY {point})"
    )
    op.drop_index(_OLD, table_name="metrics")
    op.create_index(_NEW, "metrics", _POINT, unique=True)


def downgrade() -> None:
    op.drop_index(_NEW, table_name="metrics")
    op.create_index(_OLD, "metrics", _POINT[:3])
