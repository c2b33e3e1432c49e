"""Tracking tables: experiments, runs, params, tags, metrics, datasets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from dockyard.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A migration creates the tables it introduces from schema.py, by name. Once released, a table's
# later changes get a migration of their own (op.add_column ...) and schema.py follows;
# tests/store/test_migrations.py fails if the migrated database and schema.py ever disagree.
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
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[name] for name in TABLES])
    # MLflow clients expect experiment "0" named "Default" to exist.
    op.execute(
        schema.experiments.insert().values(
            experiment_id=0,
            name="Default",
            artifact_location="0",
            lifecycle_stage="active",
            creation_time=0,
            last_update_time=0,
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(
        bind, tables=[schema.metadata.tables[name] for name in reversed(TABLES)]
    )
