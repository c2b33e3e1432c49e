"""The queue's hot writes (tuples straight to the driver) on PostgreSQL: fan-out, claim,
record, the attempt log, a retry, and retention, end to end against a real receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.notifications._receiver import Receiver, until
from tests.server.notifications.conftest import make_services

from dockyard.api.notifications import PublishRequest, SubscriptionConfig, TopicConfig
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.notifications._retention import prune_delivered

ADMIN = Actor.system("test")


@pytest.fixture
def pg_services(tmp_path: Path, postgres_url: str) -> Iterator[Services]:
    made = make_services(tmp_path, database_url=postgres_url)
    loops = made.start_notifications()
    yield made
    for loop in loops:
        loop.stop()
    made.close()


def test_deliveries_retries_and_retention_on_postgresql(
    pg_services: Services, receiver: Receiver
) -> None:
    receiver.fail_first = 1
    notify = pg_services.notifications
    notify.create_topic(ADMIN, TopicConfig(name="t"))
    made = notify.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True, events=["topic.t"], endpoint=receiver.url, name="pg"
        ),
    )
    sent = [notify.publish(ADMIN, "t", PublishRequest(message=f"m{i}")).event_id for i in range(5)]
    until(lambda: notify.get_subscription(ADMIN, "pg").delivered == 5, what="5 delivered")
    assert set(receiver.ids()) == set(sent)
    attempts = notify.attempts(ADMIN, "pg")
    assert len(attempts) == 6  # one failure, retried
    assert sorted(a.status_code or 0 for a in attempts) == [200] * 5 + [503]
    [retried] = [d for d in notify.deliveries(ADMIN, "pg") if d.attempts == 2]
    assert retried.last_status_code == 200 and retried.last_error is None
    later = time.time_ns() // 1_000_000 + 1000
    assert prune_delivered(pg_services.db, before=later) == 5
    assert notify.deliveries(ADMIN, made.subscription_id) == []
    assert notify.attempts(ADMIN, "pg") == []


def test_a_confirmation_on_postgresql(pg_services: Services, receiver: Receiver) -> None:
    from sqlalchemy import select

    from dockyard.errors import Conflict, NotFound
    from dockyard.server.store import schema

    notify = pg_services.notifications
    notify.create_topic(ADMIN, TopicConfig(name="t"))
    notify.create_subscription(
        ADMIN, SubscriptionConfig(events=["topic.t"], endpoint=receiver.url, name="pg-wait")
    )
    early = notify.publish(ADMIN, "t", PublishRequest(message="early")).event_id
    [message] = until(receiver.ok, what="the confirmation message")
    assert message.headers["x-dockyard-message-type"] == "SubscriptionConfirmation"
    notify.resend_confirmation(ADMIN, "pg-wait")  # replaces the token it carried
    with pg_services.db.read() as conn:
        token = conn.execute(select(schema.subscriptions.c.confirm_token)).scalar()
    anonymous = Actor.anonymous("192.0.2.1")
    with pytest.raises(NotFound):
        notify.confirm(anonymous, str(token)[:-1])
    with pytest.raises(NotFound):  # not a database error
        notify.confirm(anonymous, "\x00" + str(token))
    assert notify.confirm(anonymous, str(token)).state == "confirmed"
    with pytest.raises(Conflict):
        notify.confirm(anonymous, str(token))
    late = notify.publish(ADMIN, "t", PublishRequest(message="late")).event_id
    until(lambda: late in receiver.ids(), what="the event published once confirmed")
    assert early not in receiver.ids()
