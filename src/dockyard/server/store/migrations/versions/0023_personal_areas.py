"""Personal areas of the artifact store belong to an account, not to a name: an account made
again under a deleted name gets an area of its own, not the files the deleted one left.

Accounts that exist keep the area they have used until now, their name. Names the event log
says were accounts once, and are no more, are recorded as areas of deleted accounts, so none
is handed out again.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = ("personal_areas",)


def upgrade() -> None:
    create_tables(TABLES)
    op.execute(
        "INSERT INTO personal_areas (area, user_id, created_time) "
        "SELECT name, user_id, created_time FROM users"
    )
    op.execute(
        "INSERT INTO personal_areas (area, user_id, created_time, retired_time) "
        "SELECT resource_id, NULL, MIN(time), MAX(time) FROM events "
        "WHERE resource_type = 'user' AND type IN ('user.created', 'user.deleted') "
        "AND resource_id NOT IN (SELECT name FROM users) GROUP BY resource_id"
    )


def downgrade() -> None:
    drop_tables(TABLES)
