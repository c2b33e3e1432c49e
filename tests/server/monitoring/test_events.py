"""A violation is an event like any other: a trigger following ``monitoring.violation`` starts a
retraining pipeline, and a subscription gets it by webhook."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from tests.server.monitoring.conftest import (
    HOUR,
    ROOT,
    T0,
    baseline_folder,
    deploy,
    driver,
    finish,
    spec,
)
from tests.server.notifications._receiver import Receiver, until

from dockyard.api.notifications import SubscriptionConfig
from dockyard.api.pipelines import StateMachineConfig, execution_arn
from dockyard.api.triggers import TriggerConfig
from dockyard.server._services import Services
from dockyard.server.triggers import EventTriggers

_VIOLATION = {
    "feature_name": "a",
    "constraint_check_type": "baseline_drift_check",
    "description": "drifted",
}


def _violate(services: Services, tmp_path: Path) -> str:
    """A schedule whose first hour's check found a violation; returns its execution id."""
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + 60_000
    passes.advance(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    summary = {
        "rows": 50,
        "violation_count": 1,
        "violations_by_type": {"baseline_drift_check": 1},
        "drifted_features": [{"feature": "a"}],
        "violations": [_VIOLATION],
    }
    finish(services, execution.job or "", summary)
    passes.advance(now + 1)
    return execution.execution_id


def test_a_violation_starts_a_pipeline_through_a_trigger(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    definition = {"StartAt": "Retrain", "States": {"Retrain": {"Type": "Pass", "End": True}}}
    services.pipelines.create(
        ROOT, StateMachineConfig(name="retrain", definition=json.dumps(definition))
    )
    config = {
        "name": "on-drift",
        "events": {"events": ["monitoring.violation"], "filter": {"endpoint": ["churn"]}},
        "target": {"kind": "pipeline", "spec": {"pipeline": "retrain", "input": {}}},
    }
    services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    execution_id = _violate(services, tmp_path)
    consumer = EventTriggers(services.triggers, services.db, tmp_path, services.events)
    try:
        consumer.tick()
        consumer.tick()
    finally:
        consumer.stop()
    (fired,) = services.triggers.history(ROOT, "on-drift")
    assert fired.status == "fired", fired.error
    assert fired.cause["event_type"] == "monitoring.violation"
    assert fired.cause["body_execution_id"] == execution_id
    started = services.pipelines.wait(ROOT, execution_arn("retrain", fired.job or ""), 10)
    assert started.status.value == "SUCCEEDED"
    assert json.loads(started.input)["trigger"]["resource_id"] == "churn-drift"


def test_a_violation_reaches_a_webhook(tmp_path: Path, model: Path, services: Services) -> None:
    receiver = Receiver().start()
    loops = services.start_notifications()
    try:
        services.notifications.create_subscription(
            ROOT,
            SubscriptionConfig(
                skip_confirmation=True, events=["monitoring.violation"], endpoint=receiver.url
            ),
        )
        deploy(services, model)
        execution_id = _violate(services, tmp_path)
        [got] = until(receiver.ok, what="the webhook")
        event = orjson.loads(got.body)["event"]
        assert event["type"] == "monitoring.violation"
        assert event["resource_type"] == "monitoring_schedule"
        assert event["body"]["execution_id"] == execution_id
        assert event["body"]["violations_by_type"] == {"baseline_drift_check": 1}
    finally:
        for loop in loops:
            loop.stop()
        receiver.stop()
