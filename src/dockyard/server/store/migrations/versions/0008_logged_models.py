"""MLflow 3 logged models, the models runs produce and consume, and two version columns.

Model versions gain the logged model they were registered from and MLflow's deprecated stage.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from dockyard.server.store.migrations._tables import add_missing_columns, create_tables, drop_tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = (
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "run_models",
)


def upgrade() -> None:
    create_tables(TABLES)
    # 0003 made model_versions from the schema of its day on databases created before this one.
    add_missing_columns("model_versions", ("logged_model_id", "stage"))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("stage")
        batch.drop_column("logged_model_id")
    drop_tables(TABLES)
