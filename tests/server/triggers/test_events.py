"""Event patterns: an approved model version starts a job, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.server.triggers.conftest import ROOT, make_services, training

from dockyard.api.pipelines import StartExecution, StateMachineConfig, state_machine_arn
from dockyard.api.tracking import CreateExperiment
from dockyard.api.triggers import FiringStatus, TriggerConfig
from dockyard.errors import InvalidArgument
from dockyard.server._services import Services
from dockyard.server.actor import Role
from dockyard.server.auth import CreateUser, UpdateUser
from dockyard.server.store import schema
from dockyard.server.triggers._loops import EventTriggers


def _approve(services: Services, name: str, status: str) -> None:
    services.events.record(
        ROOT,
        "model_version.approval_set",
        "model_version",
        f"{name}/1",
        scope="registered_model:1",
        body={"status": status},
    )


def test_an_approval_fires_once(services: Services, tmp_path: Path, data: Path) -> None:
    _approve(services, "before", "Approved")  # before the trigger: never fires
    config = {
        "name": "on-approval",
        "events": {
            "events": ["model_version.approval_set"],
            "filter": {"status": ["Approved"]},
        },
        "target": training(data, tags={"version": "{{trigger.resource_id}}"}),
    }
    services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    _approve(services, "churn", "Rejected")
    _approve(services, "churn", "Approved")
    consumer = EventTriggers(services.triggers, services.db, tmp_path, services.events)
    assert consumer.wants("run.logged")  # its triggers not read yet: every append wakes it
    consumer.tick()
    consumer.tick()
    # Read now: only appends some enabled trigger wants wake it (and changes to triggers).
    assert consumer.wants("model_version.approval_set") and consumer.wants("trigger.updated")
    assert not consumer.wants("run.logged")
    (fired,) = services.triggers.history(ROOT, "on-approval")
    assert fired.cause["resource_id"] == "churn/1" and fired.status == "fired"
    assert services.jobs.get(ROOT, fired.job or "").spec["tags"]["version"] == "churn/1"
    consumer.stop()
    # A crash before the cursor moved: the next leader reads the same events again, and
    # nothing fires twice.
    with services.db.write() as conn:
        services.events.advance(conn, consumer.name, 0)
    restarted = EventTriggers(services.triggers, services.db, tmp_path, services.events)
    restarted.tick()
    assert len(services.triggers.history(ROOT, "on-approval")) == 1
    restarted.stop()


def test_a_trigger_may_not_follow_triggers(services: Services, data: Path) -> None:
    config = {"name": "loop", "events": {"events": ["trigger.fired"]}, "target": training(data)}
    with pytest.raises(InvalidArgument, match="may not follow") as caught:
        services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    assert caught.value.field == "events.events.0"


def test_a_trigger_does_not_follow_the_work_it_started(services: Services, tmp_path: Path) -> None:
    # Each execution the trigger starts appends pipeline.execution.started and .succeeded: a
    # trigger following them started two executions for each, without end (hundreds a minute).
    definition = {"StartAt": "Go", "States": {"Go": {"Type": "Pass", "End": True}}}
    services.pipelines.create(
        ROOT, StateMachineConfig(name="again", definition=json.dumps(definition))
    )
    config = {
        "name": "echo",
        "events": {"events": ["pipeline.execution.*"]},
        "target": {"kind": "pipeline", "spec": {"pipeline": "again", "input": {}}},
    }
    services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    services.pipelines.start(ROOT, state_machine_arn("again"), StartExecution(name="by-hand"))
    consumer = EventTriggers(services.triggers, services.db, tmp_path, services.events)
    try:
        for _ in range(4):
            consumer.tick()
    finally:
        consumer.stop()
    fired = services.triggers.history(ROOT, "echo")
    # The execution started by hand fired it (started, then succeeded: two causes, two
    # executions); those two, its own work, fired nothing.
    assert len(fired) == 2 and all(f.status == "fired" for f in fired)
    assert {f.cause["resource_id"].rpartition(":")[2] for f in fired} == {"by-hand"}


def test_a_trigger_fires_only_for_events_its_creator_may_read(tmp_path: Path, data: Path) -> None:
    services = make_services(tmp_path / "home", data, default_permission="none")
    try:
        services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
        people = {}
        for name in ("bob", "eve"):
            services.auth.create_user(ROOT, CreateUser(name=name, role=Role.MEMBER))
            with services.db.read() as conn:
                row = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
            people[name] = services.auth.account_actor(int(row.user_id))
        bob, eve = people["bob"], people["eve"]
        config = {
            "name": "spy",
            "events": {"events": ["experiment.*"]},
            "target": training(data),
        }
        services.triggers.create(eve, TriggerConfig.model_validate(config))
        services.tracking.create_experiment(bob, CreateExperiment(name="bob-private-project"))
        services.tracking.create_experiment(eve, CreateExperiment(name="eve-project"))
        consumer = EventTriggers(services.triggers, services.db, tmp_path, services.events)
        consumer.tick()
        consumer.stop()
        fired = services.triggers.history(eve, "spy")
        assert [f.cause["body_name"] for f in fired] == ["eve-project"]
    finally:
        services.close()


def test_an_event_trigger_of_a_disabled_creator_records_a_failed_firing(
    tmp_path: Path, data: Path
) -> None:
    services = make_services(tmp_path / "home", data)
    try:
        services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
        services.auth.create_user(ROOT, CreateUser(name="eve", role=Role.MEMBER))
        with services.db.read() as conn:
            row = conn.execute(select(schema.users).where(schema.users.c.name == "eve")).one()
        eve = services.auth.account_actor(int(row.user_id))
        config = {
            "name": "on-approval",
            "events": {"events": ["model_version.approval_set"]},
            "target": training(data),
        }
        services.triggers.create(eve, TriggerConfig.model_validate(config))
        services.auth.update_user(ROOT, "eve", UpdateUser(disabled=True))
        _approve(services, "churn", "Approved")
        consumer = EventTriggers(services.triggers, services.db, tmp_path, services.events)
        consumer.tick()
        consumer.stop()
        # As a manual or scheduled firing does: failed, saying why, with a trigger.failed event.
        (failed,) = services.triggers.history(ROOT, "on-approval")
        assert failed.status is FiringStatus.FAILED and "disabled" in (failed.error or "")
        assert services.events.read(types=["trigger.failed"])
    finally:
        services.close()
