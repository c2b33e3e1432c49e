"""The delivery log's retention: delivered rows and their attempts go after
``notify_retention_s``; pending and dead ones (the queue, the dead letters) stay."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update
from tests.server.notifications._receiver import Receiver, until

from dockyard.api.notifications import PublishRequest, SubscriptionConfig, TopicConfig
from dockyard.errors import InvalidArgument
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.notifications._retention import prune_delivered
from dockyard.server.store import schema
from dockyard.settings import Settings

ADMIN = Actor.system("test")


def _count(services: Services, table: str) -> int:
    with services.db.read() as conn:
        return int(
            conn.execute(select(func.count()).select_from(schema.metadata.tables[table])).scalar()
            or 0
        )


def test_old_delivered_rows_go_with_their_attempts_and_the_rest_stays(
    services: Services, receiver: Receiver
) -> None:
    notify = services.notifications
    notify.create_topic(ADMIN, TopicConfig(name="t"))
    made = notify.create_subscription(
        ADMIN, SubscriptionConfig(skip_confirmation=True, events=["topic.t"], endpoint=receiver.url)
    )
    for i in range(3):
        notify.publish(ADMIN, "t", PublishRequest(message=f"m{i}"))
    until(lambda: notify.get_subscription(ADMIN, made.name).delivered == 3, what="3 delivered")
    delivered = sorted(d.delivery_id for d in notify.deliveries(ADMIN, made.name))
    now = time.time_ns() // 1_000_000
    day = 86_400_000
    with services.db.write() as conn:
        # Two delivered ten days ago; one a day ago; a dead letter and a pending row, both old.
        d = schema.deliveries
        conn.execute(
            update(d)
            .where(d.c.delivery_id.in_(delivered[:2]))
            .values(next_attempt_time=now - 10 * day)
        )
        conn.execute(
            update(d).where(d.c.delivery_id == delivered[2]).values(next_attempt_time=now - day)
        )
    attempts_before = _count(services, "delivery_attempts")
    assert prune_delivered(services.db, before=now - 7 * day, chunk=1) == 2
    left = notify.deliveries(ADMIN, made.name)
    assert [x.delivery_id for x in left] == [delivered[2]]
    assert _count(services, "delivery_attempts") == attempts_before - 2
    assert {a.delivery_id for a in notify.attempts(ADMIN, made.name)} == {delivered[2]}
    assert prune_delivered(services.db, before=now - 7 * day) == 0  # nothing older is left


def test_dead_letters_and_pending_rows_are_never_pruned(
    services: Services, receiver: Receiver
) -> None:
    receiver.fail_first = 1_000_000
    notify = services.notifications
    notify.create_topic(ADMIN, TopicConfig(name="t"))
    made = notify.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True, events=["topic.t"], endpoint=receiver.url, retry_horizon_s=0.3
        ),
    )
    notify.publish(ADMIN, "t", PublishRequest(message="m"))
    until(lambda: notify.get_subscription(ADMIN, made.name).dead == 1, what="the dead letter")
    far_future = time.time_ns() // 1_000_000 + 86_400_000
    assert prune_delivered(services.db, before=far_future) == 0
    assert notify.get_subscription(ADMIN, made.name).dead == 1


def test_the_retention_setting_is_checked_and_named() -> None:
    assert Settings(notify_retention_s=3600).notify_retention_s == 3600
    assert Settings().notify_retention_s == 7 * 86_400
    with pytest.raises(InvalidArgument, match="notify_retention_s"):
        Settings(notify_retention_s=0)
