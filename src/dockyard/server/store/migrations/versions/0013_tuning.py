"""Tuning: hyperparameter tuning jobs and their trials.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("tuning_jobs", "tuning_trials")


def upgrade() -> None:
    create_tables(TABLES)


def downgrade() -> None:
    drop_tables(TABLES)
