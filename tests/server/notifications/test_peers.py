"""Notification loops across server processes, and stopping them from the server's event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.server.notifications._receiver import Receiver, until
from tests.server.notifications.conftest import make_services

from dockyard.api.notifications import PublishRequest, SubscriptionConfig, TopicConfig
from dockyard.server.actor import Actor
from dockyard.server.events import Peers
from dockyard.server.notifications import Deliverer, FanOut

ADMIN = Actor.system("test")


def test_queued_deliveries_wake_the_deliverer_of_another_process(
    tmp_path: Path, receiver: Receiver
) -> None:
    # Two server processes' services over one database, their logs telling each other.
    here, there = make_services(tmp_path), make_services(tmp_path)
    url = here.settings.resolved_database_url
    peers = [Peers(url, here.events.notify), Peers(url, there.events.notify)]
    here.events.wake_peers(peers[0])
    there.events.wake_peers(peers[1])
    # Polls too slow to matter: only the announcement can bring the delivery in time.
    fanout = FanOut(here.db, here.settings.home, here.events, interval_s=600)
    deliverer = Deliverer(
        there.db, tmp_path / "there", there.settings, there.events, interval_s=600
    )
    (tmp_path / "there").mkdir()
    try:
        notify = here.notifications
        notify.create_topic(ADMIN, TopicConfig(name="t"))
        notify.create_subscription(
            ADMIN,
            SubscriptionConfig(skip_confirmation=True, events=["topic.t"], endpoint=receiver.url),
        )
        fanout.start()
        deliverer.start()
        until(lambda: deliverer.is_leader and fanout.is_leader, what="both loops leading")
        notify.publish(ADMIN, "t", PublishRequest(message="m"))
        until(lambda: receiver.requests, timeout=20, what="the delivery")
    finally:
        fanout.stop()
        deliverer.stop()
        for made in peers:
            made.stop()
        here.close()
        there.close()


def test_a_deliverer_that_sent_stops_from_a_running_event_loop(
    tmp_path: Path, receiver: Receiver
) -> None:
    # The server stops its loops in its lifespan, on its own running event loop.
    services = make_services(tmp_path)
    loops = services.start_notifications()
    try:
        notify = services.notifications
        notify.create_topic(ADMIN, TopicConfig(name="t"))
        notify.create_subscription(
            ADMIN,
            SubscriptionConfig(skip_confirmation=True, events=["topic.t"], endpoint=receiver.url),
        )
        notify.publish(ADMIN, "t", PublishRequest(message="m"))
        until(lambda: receiver.requests, what="the delivery")  # its pools are open now

        async def shut_down() -> None:
            for loop in loops:
                loop.stop()

        asyncio.run(shut_down())
    finally:
        services.close()
