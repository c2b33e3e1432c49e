"""Tracking tables: experiments, runs, params, tags, metrics, datasets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import time

from alembic import op

from dockyard.server.store import schema
from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables are created from schema.py by name: see dockyard.server.store.migrations._tables.
TABLES = (
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "datasets",
    "run_inputs",
    "applied_batches",
)


def upgrade() -> None:
    create_tables(TABLES)
    # MLflow clients expect experiment "0" named "Default" to exist; it is created now, as
    # MLflow's server creates it (databases made before this say 0, which pages show as "-").
    now = int(time.time() * 1000)
    op.execute(
        schema.experiments.insert().values(
            experiment_id=0,
            name="Default",
            artifact_location="0",
            lifecycle_stage="active",
            creation_time=now,
            last_update_time=now,
        )
    )


def downgrade() -> None:
    drop_tables(TABLES)
