"""Many rows in one driver call: the queue's hot writes, without per-row parameter processing.

SQLAlchemy's executemany builds a parameter dict per row (~6 us each), which at thousands of
deliveries a second cost more than the writes themselves. These statements take plain tuples
straight to the driver (as metric logging does); the SQL is the same on SQLite and PostgreSQL
but for the placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

__all__ = ["INSERT_ATTEMPTS", "INSERT_DELIVERIES", "RECORD_OUTCOME", "execute_many"]

#: (subscription_id, event_id, status, attempts, next_attempt_time, horizon_time,
#: created_time, updated_time)
INSERT_DELIVERIES = (
    "INSERT INTO deliveries (subscription_id, event_id, status, attempts, next_attempt_time, "
    "horizon_time, created_time, updated_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
#: (time, status_code, latency_ms, error, delivery_id, subscription_id, event_id): logged only
#: while the delivery exists (a subscription deleted mid-send took its deliveries along, and
#: SQLite may hand the freed id to a new row: hence the pair that names it). The casts type
#: the parameters for PostgreSQL, which cannot infer them from a SELECT list.
INSERT_ATTEMPTS = (
    "INSERT INTO delivery_attempts (delivery_id, subscription_id, event_id, time, status_code, "
    "latency_ms, error) SELECT delivery_id, subscription_id, event_id, CAST(? AS BIGINT), "
    "CAST(? AS INTEGER), CAST(? AS DOUBLE PRECISION), CAST(? AS VARCHAR(1000)) "
    "FROM deliveries WHERE delivery_id = ? AND subscription_id = ? AND event_id = ?"
)
#: (status, attempts, next_attempt_time, last_status_code, last_error, updated_time,
#: delivery_id, subscription_id, event_id): only the row that was claimed, still claimed (a
#: delete in between wins, and a new row that reused a deleted row's id is not it).
RECORD_OUTCOME = (
    "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_time = ?, "
    "last_status_code = ?, last_error = ?, updated_time = ? "
    "WHERE delivery_id = ? AND subscription_id = ? AND event_id = ? AND status = 'sending'"
)


def execute_many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``sql`` (written with ``?`` placeholders) once per row, in one driver call."""
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))
