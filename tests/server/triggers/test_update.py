"""Changing a trigger: enable, disable, cooldown, source and work; a disabled one never fires."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.server.triggers.conftest import ROOT, Clock, training

from dockyard.api.triggers import FireRequest, TriggerConfig, TriggerKind, TriggerUpdate
from dockyard.errors import Conflict, InvalidArgument
from dockyard.server._services import Services
from dockyard.server.triggers._loops import EventTriggers, ScheduleLoop

HOUR = 3_600_000
START = int(datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp() * 1000)


def _hourly(services: Services, data: Path) -> None:
    config = {"name": "hourly", "schedule": {"cron": "0 * * * *"}, "target": training(data)}
    services.triggers.create(ROOT, TriggerConfig.model_validate(config), now=START)


def test_a_disabled_schedule_never_fires_and_enabling_starts_from_now(
    services: Services, data: Path, tmp_path: Path
) -> None:
    _hourly(services, data)
    clock = Clock(START)
    loop = ScheduleLoop(services.triggers, services.db, tmp_path, clock=clock)
    off = services.triggers.update(ROOT, "hourly", TriggerUpdate(enabled=False), now=START)
    assert off.enabled is False
    assert off.next_time is None  # no slot is coming: the list and the web UI show none
    assert services.triggers.get(ROOT, "hourly").next_time is None
    for hours in (1, 2, 3):
        clock.now = START + hours * HOUR + 1
        loop.tick()
    assert services.triggers.history(ROOT, "hourly") == []
    with pytest.raises(Conflict, match="disabled") as caught:
        services.triggers.fire(ROOT, "hourly", FireRequest(key="by-hand"))
    assert caught.value.field == "name"
    # A loop that read the trigger before it was disabled does not fire it either.
    row = services.triggers.enabled(TriggerKind.SCHEDULE)
    assert row == []
    on = services.triggers.update(ROOT, "hourly", TriggerUpdate(enabled=True), now=clock.now)
    assert on.enabled and on.next_time == START + 4 * HOUR  # not the slots it missed
    loop.tick()
    assert services.triggers.history(ROOT, "hourly") == []
    clock.now = START + 4 * HOUR + 1
    loop.tick()
    (fired,) = services.triggers.history(ROOT, "hourly")
    assert fired.cause_key == f"schedule:{START + 4 * HOUR}"
    said = [e.body for e in services.events.read(types=["trigger.updated"])]
    assert said == [
        {"changed": ["enabled"], "enabled": False},
        {"changed": ["enabled"], "enabled": True},
    ]


def test_a_loop_holding_a_row_read_before_disable_does_not_fire(
    services: Services, data: Path
) -> None:
    _hourly(services, data)
    (row,) = services.triggers.enabled(TriggerKind.SCHEDULE)
    services.triggers.update(ROOT, "hourly", TriggerUpdate(enabled=False), now=START)
    with pytest.raises(Conflict, match="disabled"):
        services.triggers.fire_schedule(row, START + HOUR + 1)
    assert services.triggers.history(ROOT, "hourly") == []


def test_a_disabled_event_trigger_ignores_events_and_enabling_skips_what_came_meanwhile(
    services: Services, data: Path, tmp_path: Path
) -> None:
    config = {"name": "on-param", "events": {"events": ["param.*"]}, "target": training(data)}
    services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    services.triggers.update(ROOT, "on-param", TriggerUpdate(enabled=False))
    loop = EventTriggers(services.triggers, services.db, tmp_path, services.events)

    def append(name: str) -> None:
        with services.db.write() as conn:
            services.events.append(
                conn, ROOT, "param.changed", "param", name, scope=f"param:{name}"
            )

    append("a")
    loop.tick()
    services.triggers.update(ROOT, "on-param", TriggerUpdate(enabled=True))
    loop.tick()
    assert services.triggers.history(ROOT, "on-param") == []
    append("b")
    loop.tick()
    (fired,) = services.triggers.history(ROOT, "on-param")
    assert fired.cause["resource_id"] == "b"


def test_changing_the_schedule_cooldown_and_work(services: Services, data: Path) -> None:
    _hourly(services, data)
    change = TriggerUpdate.model_validate(
        {
            "schedule": {"cron": "30 * * * *"},
            "cooldown_s": 600,
            "target": training(data, tags={"v": "2"}),
            "description": "half past",
        }
    )
    t = services.triggers.update(ROOT, "hourly", change, now=START)
    assert t.schedule is not None and t.schedule.cron == "30 * * * *"
    assert t.next_time == START + HOUR // 2
    assert (t.cooldown_s, t.description, t.target.spec["tags"]) == (600, "half past", {"v": "2"})
    fired = services.triggers.fire(ROOT, "hourly", FireRequest(key="k"))
    assert services.jobs.get(ROOT, fired.job or "").spec["tags"]["v"] == "2"
    (event,) = services.events.read(types=["trigger.updated"])
    assert event.body == {"changed": ["schedule", "description", "target", "cooldown_s"]}


def test_a_source_of_another_kind_is_refused_naming_it(services: Services, data: Path) -> None:
    _hourly(services, data)
    change = TriggerUpdate.model_validate({"git": {"repository": "acme/models"}})
    with pytest.raises(InvalidArgument, match="schedule trigger") as caught:
        services.triggers.update(ROOT, "hourly", change)
    assert caught.value.field == "git"
    with pytest.raises(InvalidArgument) as caught:
        services.triggers.update(
            ROOT, "hourly", TriggerUpdate.model_validate({"schedule": {"cron": "61 * * * *"}})
        )
    assert caught.value.field == "schedule.cron"
    assert services.events.read(types=["trigger.updated"]) == []


def test_patch_over_http(client: httpx.Client, data: Path) -> None:
    body = {"name": "daily", "schedule": {"cron": "@daily"}, "target": training(data)}
    assert client.post("/api/v1/triggers", json=body).status_code == 201
    answer = client.patch("/api/v1/triggers/daily", json={"enabled": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["enabled"] is False
    assert client.get("/api/v1/triggers/daily").json()["enabled"] is False
    assert client.post("/api/v1/triggers/daily/fire", json={}).status_code == 409
    for bad, field in (
        ({}, "body"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"enabled": "maybe"}, "enabled"),
        ({"name": "other"}, "name"),
        ({"target": {"kind": "training", "spec": {"algorithm": 3}}}, "target.spec"),
    ):
        refused = client.patch("/api/v1/triggers/daily", json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert field in refused.text, (bad, refused.text)
    assert client.patch("/api/v1/triggers/nope", json={"enabled": True}).status_code == 404


def test_a_loop_holding_a_row_read_before_a_change_does_not_fire_the_old_source(
    services: Services, data: Path
) -> None:
    _hourly(services, data)
    (row,) = services.triggers.enabled(TriggerKind.SCHEDULE)
    change = TriggerUpdate.model_validate({"schedule": {"cron": "30 * * * *"}})
    services.triggers.update(ROOT, "hourly", change, now=START)
    with pytest.raises(Conflict, match="changed"):
        services.triggers.fire_schedule(row, START + HOUR + 1)
    assert services.triggers.get(ROOT, "hourly").next_time == START + HOUR // 2  # kept
    (fresh,) = services.triggers.enabled(TriggerKind.SCHEDULE)
    fired = services.triggers.fire_schedule(fresh, START + HOUR // 2 + 1)
    assert fired is not None and fired.cause_key == f"schedule:{START + HOUR // 2}"
