"""Webhook delivery end to end: a real event, a real HTTP receiver, signatures checked as the
README documents them; retries with backoff, dead letters and replay."""

from __future__ import annotations

import hashlib
import hmac
import time

import orjson
from sqlalchemy import select
from tests.server.notifications._receiver import Receiver, until

from dockyard.api.notifications import (
    DeliveryStatus,
    PublishRequest,
    SubscriptionConfig,
    TopicConfig,
)
from dockyard.api.tracking import CreateExperiment, CreateRun, RunStatus, UpdateRun
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.store import schema

ADMIN = Actor.system("test")
SECRET = "s3cret-for-tests"


def _finish_a_run(services: Services) -> str:
    experiment = services.tracking.create_experiment(ADMIN, CreateExperiment(name="hooks"))
    run = services.tracking.create_run(ADMIN, CreateRun(experiment_id=experiment.experiment_id))
    run_id = run.info.run_id
    services.tracking.update_run(ADMIN, run_id, UpdateRun(status=RunStatus.FINISHED))
    return run_id


def test_a_finished_run_reaches_the_webhook_signed_as_documented(
    services: Services, receiver: Receiver
) -> None:
    made = services.notifications.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True,
            events=["run.status_changed"],
            endpoint=receiver.url,
            secret=SECRET,
            filter={"status": ["FINISHED"]},
        ),
    )
    assert made.secret == SECRET
    run_id = _finish_a_run(services)
    [got] = until(receiver.ok, what="the webhook")
    # What the README says a receiver checks: HMAC-SHA256 over "<timestamp>.<raw body>".
    timestamp = got.headers["x-dockyard-timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256)
    assert got.headers["x-dockyard-signature"] == "sha256=" + expected.hexdigest()
    assert abs(int(timestamp) - time.time()) < 60
    wrong = hmac.new(b"another secret", timestamp.encode() + b"." + got.body, hashlib.sha256)
    assert got.headers["x-dockyard-signature"] != "sha256=" + wrong.hexdigest()
    payload = orjson.loads(got.body)
    event = payload["event"]
    assert payload["subscription_id"] == made.subscription_id
    assert event["type"] == "run.status_changed"
    assert event["resource_id"] == run_id
    assert event["body"]["status"] == "FINISHED"
    assert got.headers["x-dockyard-event-id"] == str(event["id"])
    # The delivery is recorded as delivered, with one logged attempt.
    until(
        lambda: services.notifications.get_subscription(ADMIN, made.name).delivered == 1,
        what="the delivery recorded",
    )
    [attempt] = services.notifications.attempts(ADMIN, made.subscription_id)
    assert attempt.status_code == 200 and attempt.error is None and attempt.latency_ms > 0
    # The secret is shown once: listings never carry it.
    listed = services.notifications.list_subscriptions(ADMIN)[0].model_dump()
    assert "secret" not in listed


def test_the_filter_keeps_what_does_not_match_away(services: Services, receiver: Receiver) -> None:
    services.notifications.create_topic(ADMIN, TopicConfig(name="alerts"))
    services.notifications.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True,
            events=["topic.alerts"],
            endpoint=receiver.url,
            filter={"severity": ["high"], "score": [{"numeric": [">=", 0.9]}]},
        ),
    )
    publish = services.notifications.publish
    publish(ADMIN, "alerts", PublishRequest(message="low", attributes={"severity": "low"}))
    publish(ADMIN, "alerts", PublishRequest(message="x", attributes={"severity": "high"}))
    sent = publish(
        ADMIN, "alerts", PublishRequest(message="yes", attributes={"severity": "high", "score": 1})
    )
    [got] = until(receiver.ok, what="the matching message")
    assert int(got.headers["x-dockyard-event-id"]) == sent.event_id
    # The fan-out has looked past every event: nothing else is queued.
    until(
        lambda: services.events.position("notifications-fanout") >= sent.event_id,
        what="the fan-out",
    )
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_with_growing_waits(
    services: Services, receiver: Receiver
) -> None:
    receiver.fail_first = 3
    services.notifications.create_topic(ADMIN, TopicConfig(name="t"))
    made = services.notifications.create_subscription(
        ADMIN, SubscriptionConfig(skip_confirmation=True, events=["topic.t"], endpoint=receiver.url)
    )
    sent = services.notifications.publish(ADMIN, "t", PublishRequest(message="m"))
    until(receiver.ok, what="the fourth attempt")
    until(
        lambda: services.notifications.get_subscription(ADMIN, made.name).delivered == 1,
        what="the delivery recorded",
    )
    attempts = services.notifications.attempts(ADMIN, made.name)
    assert [a.status_code for a in reversed(attempts)] == [503, 503, 503, 200]
    assert all(a.event_id == sent.event_id for a in attempts)
    assert {r.headers["x-dockyard-event-id"] for r in receiver.requests} == {str(sent.event_id)}
    [delivery] = services.notifications.deliveries(ADMIN, made.name)
    assert delivery.attempts == 4 and delivery.status == "delivered"


def test_past_the_horizon_a_delivery_is_dead_and_replay_sends_it(
    services: Services, receiver: Receiver
) -> None:
    receiver.fail_first = 1_000_000
    services.notifications.create_topic(ADMIN, TopicConfig(name="t"))
    made = services.notifications.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True, events=["topic.t"], endpoint=receiver.url, retry_horizon_s=0.5
        ),
    )
    sent = services.notifications.publish(ADMIN, "t", PublishRequest(message="m"))
    dead = until(
        lambda: services.notifications.deliveries(ADMIN, made.name, status=DeliveryStatus.DEAD),
        what="the dead letter",
    )
    assert dead[0].event_id == sent.event_id
    assert dead[0].last_status_code == 503 and "503" in (dead[0].last_error or "")
    tries = len(receiver.requests)
    assert tries >= 1
    receiver.fail_first = tries  # the receiver is back
    assert services.notifications.replay(ADMIN, made.name) == 1
    until(receiver.ok, what="the replayed delivery")
    until(
        lambda: services.notifications.get_subscription(ADMIN, made.name).delivered == 1,
        what="the replay recorded",
    )
    assert services.notifications.replay(ADMIN, made.name) == 0


def test_a_subscription_deleted_mid_send_leaves_no_log_and_stops_nothing_else(
    services: Services, receiver: Receiver
) -> None:
    receiver.delay_s = 0.5  # the send is in flight while the subscription goes
    notify = services.notifications
    notify.create_topic(ADMIN, TopicConfig(name="t"))
    notify.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True, events=["topic.t"], endpoint=receiver.url, name="going"
        ),
    )
    notify.publish(ADMIN, "t", PublishRequest(message="m1"))
    deliveries = schema.deliveries

    def claimed() -> bool:
        with services.db.read() as conn:
            found = conn.execute(
                select(deliveries.c.delivery_id).where(deliveries.c.status == "sending")
            ).first()
        return found is not None

    until(claimed, what="the delivery claimed")
    notify.delete_subscription(ADMIN, "going")
    until(lambda: receiver.requests, what="the send to finish")
    receiver.delay_s = 0.0
    staying = notify.create_subscription(
        ADMIN,
        SubscriptionConfig(
            skip_confirmation=True, events=["topic.t"], endpoint=receiver.url, name="staying"
        ),
    )
    notify.publish(ADMIN, "t", PublishRequest(message="m2"))
    until(lambda: notify.get_subscription(ADMIN, "staying").delivered == 1, what="the next one")
    with services.db.read() as conn:
        logged = conn.execute(select(schema.delivery_attempts.c.subscription_id)).scalars().all()
    assert logged == [staying.subscription_id]
    # SQLite gave the new delivery the deleted one's id: the late answer did not count for it.
    [attempt] = notify.attempts(ADMIN, "staying")
    assert attempt.latency_ms < 500  # the deleted one waited 500 ms for its answer
