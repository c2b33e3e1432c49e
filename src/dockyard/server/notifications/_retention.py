"""How long the delivery log is kept: delivered rows, and their attempts, go after a while.

Every delivery leaves a ``deliveries`` row and at least one ``delivery_attempts`` row; at a
thousand events a second to ten subscribers that is nearly a billion rows a day, so delivered
ones are deleted once ``notify_retention_s`` (7 days by default) has passed since they were
delivered. Pending and dead rows stay whatever their age: they are the queue and the dead-letter
list. Deletes go in chunks, each its own short transaction, so a large backlog of old rows never
holds the database's write lock for long.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from dockyard.server.store import Database, schema

__all__ = ["prune_delivered"]

_D = schema.deliveries
_A = schema.delivery_attempts
_CHUNK = 2000


def prune_delivered(db: Database, *, before: int, chunk: int = _CHUNK) -> int:
    """Delete deliveries delivered before ``before`` (epoch ms) with their attempts; how many.

    A delivered row's ``next_attempt_time`` is when it was delivered, and ``(status,
    next_attempt_time)`` is indexed: each chunk is found without a scan.
    """
    total = 0
    while True:
        with db.write() as conn:
            ids = list(
                conn.execute(
                    select(_D.c.delivery_id)
                    .where(_D.c.status == "delivered", _D.c.next_attempt_time < before)
                    .order_by(_D.c.next_attempt_time)
                    .limit(chunk)
                ).scalars()
            )
            if not ids:
                return total
            conn.execute(delete(_A).where(_A.c.delivery_id.in_(ids)))
            conn.execute(delete(_D).where(_D.c.delivery_id.in_(ids)))
        total += len(ids)
        if len(ids) < chunk:
            return total
