"""The fan-out is woken only by appends some subscription wants."""

from __future__ import annotations

from pathlib import Path

from tests.server.notifications.conftest import make_services

from dockyard.api.notifications import SubscriptionConfig
from dockyard.api.tracking import CreateExperiment
from dockyard.server.actor import Actor
from dockyard.server.notifications import FanOut

ADMIN = Actor.system("test")


def test_appends_no_subscription_wants_wake_nobody(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        fanout = FanOut(services.db, tmp_path, services.events)
        assert fanout.wants("run.logged")  # nothing read yet: every append wakes it
        services.tracking.create_experiment(ADMIN, CreateExperiment(name="quiet"))
        fanout.tick()  # the pass reads the subscriptions: none
        assert not fanout.wants("run.logged")
        assert fanout.wants("subscription.created")  # a new one is read at once
        services.notifications.create_subscription(
            ADMIN,
            SubscriptionConfig(
                skip_confirmation=True, events=["run.*"], endpoint="http://127.0.0.1:9/hook"
            ),
        )
        fanout.tick()
        assert fanout.wants("run.logged") and not fanout.wants("job.submitted")
    finally:
        services.close()
