"""An execution's history in chunks: a row per transition's events, not a row per event.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from dockyard.server.store.migrations._tables import create_tables, drop_tables

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = ("pipeline_history_chunks",)
#: As many events as the server puts in one chunk (``HISTORY_CHUNK`` in the pipelines'
#: repository, which reads a page's chunks as at most that long: never more here).
_CHUNK = 100
_BATCH = 1000


def _old_table() -> sa.Table:
    """``pipeline_history`` as 0012 made it: a row per event."""
    return sa.Table(
        "pipeline_history",
        sa.MetaData(),
        sa.Column("execution_arn", sa.String(400), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("previous_event_id", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("execution_arn", "event_id"),
    )


def _chunks(rows: Iterator[Any]) -> Iterator[dict[str, Any]]:
    """Chunk rows, ordered by execution and event id, as the server writes them."""
    arn: str | None = None
    events: list[list[Any]] = []

    def chunk() -> dict[str, Any]:
        return {
            "execution_arn": arn,
            "first_event_id": events[0][0],
            "last_event_id": events[-1][0],
            "events": orjson.dumps(events).decode(),
        }

    for row in rows:
        if events and (row.execution_arn != arn or len(events) == _CHUNK):
            yield chunk()
            events = []
        arn = row.execution_arn
        details = orjson.loads(row.details)
        events.append([row.event_id, row.previous_event_id, row.type, row.time, details])
    if events:
        yield chunk()


def upgrade() -> None:
    create_tables(TABLES)
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("pipeline_history"):
        return  # made after 0012 changed: no history of single events
    old = _old_table()
    chunks = sa.table(
        "pipeline_history_chunks",
        sa.column("execution_arn"),
        sa.column("first_event_id"),
        sa.column("last_event_id"),
        sa.column("events"),
    )
    rows = bind.execute(
        sa.select(old).order_by(old.c.execution_arn, old.c.event_id),
        execution_options={"yield_per": _BATCH},
    )
    batch: list[dict[str, Any]] = []
    for chunk in _chunks(iter(rows)):
        batch.append(chunk)
        if len(batch) == _BATCH:
            bind.execute(chunks.insert(), batch)
            batch = []
    if batch:
        bind.execute(chunks.insert(), batch)
    op.drop_table("pipeline_history")


def downgrade() -> None:
    bind = op.get_bind()
    old = _old_table()
    old.create(bind)
    chunks = sa.table("pipeline_history_chunks", sa.column("execution_arn"), sa.column("events"))
    rows = bind.execute(sa.select(chunks), execution_options={"yield_per": _BATCH // _CHUNK})
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.extend(
            {
                "execution_arn": row.execution_arn,
                "event_id": event_id,
                "previous_event_id": previous,
                "type": type,
                "time": time,
                "details": orjson.dumps(details).decode(),
            }
            for event_id, previous, type, time, details in orjson.loads(row.events)
        )
        if len(batch) >= _BATCH:
            bind.execute(old.insert(), batch)
            batch = []
    if batch:
        bind.execute(old.insert(), batch)
    drop_tables(TABLES)
