"""New objects under a prefix: a cursor that survives a restart; S3 notifications on the hook."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from tests.server.triggers.conftest import ROOT, make_services, training

from dockyard.api.tracking import CreateExperiment, CreateRun
from dockyard.api.triggers import TriggerConfig, TriggerKind
from dockyard.errors import PermissionDenied
from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._services import Services
from dockyard.server.actor import Role
from dockyard.server.auth import CreateUser, SetGrant
from dockyard.server.triggers._loops import ObjectWatcher


def _tick(services: Services, home: Path) -> None:
    ObjectWatcher(services.triggers, services.db, home).tick()


def test_the_cursor_survives_a_restart(tmp_path: Path, data: Path) -> None:
    incoming = data / "incoming"
    (incoming / "2026-12-01").mkdir(parents=True)
    (incoming / "2026-12-01" / "old.csv").write_text("1\n")
    one = make_services(tmp_path / "home", data)
    config = {
        "name": "new-data",
        "objects": {"prefix": str(incoming)},
        "target": training(data, tags={"newest": "{{trigger.key}}"}),
    }
    one.triggers.create(ROOT, TriggerConfig.model_validate(config))
    _tick(one, tmp_path)
    assert one.triggers.history(ROOT, "new-data") == []  # what was there is not new
    (incoming / "2026-12-02").mkdir()
    (incoming / "2026-12-02" / "a.csv").write_text("1\n")
    (incoming / "2026-12-02" / "b.csv").write_text("1\n")
    _tick(one, tmp_path)
    _tick(one, tmp_path)
    (fired,) = one.triggers.history(ROOT, "new-data")
    assert fired.cause["count"] == 2 and fired.cause["key"] == "2026-12-02/b.csv"
    assert fired.cause["uris"] == [f"{incoming}/2026-12-02/a.csv", f"{incoming}/2026-12-02/b.csv"]
    assert one.jobs.get(ROOT, fired.job or "").spec["tags"]["newest"] == "2026-12-02/b.csv"
    one.close()
    two = make_services(tmp_path / "home", data)  # restarted
    _tick(two, tmp_path)
    assert len(two.triggers.history(ROOT, "new-data")) == 1
    (incoming / "2026-12-03.csv").write_text("1\n")
    _tick(two, tmp_path)
    newest = two.triggers.history(ROOT, "new-data")[0]
    assert newest.cause["uris"] == [f"{incoming}/2026-12-03.csv"]
    two.close()


def test_new_objects_wait_out_the_cooldown(services: Services, tmp_path: Path, data: Path) -> None:
    incoming = data / "in"
    incoming.mkdir()
    config = {
        "name": "slow",
        "objects": {"prefix": str(incoming)},
        "cooldown_s": 3600,
        "target": training(data),
    }
    services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    (incoming / "1.csv").write_text("1\n")
    (row,) = services.triggers.enabled(TriggerKind.OBJECTS)
    assert services.triggers.poll_objects(row, now=1_000_000) is not None
    (incoming / "2.csv").write_text("1\n")
    (row,) = services.triggers.enabled(TriggerKind.OBJECTS)
    assert services.triggers.poll_objects(row, now=2_000_000) is None  # held back, not lost
    (row,) = services.triggers.enabled(TriggerKind.OBJECTS)
    later = services.triggers.poll_objects(row, now=1_000_000 + 3_600_000)
    assert later is not None and later.cause["key"] == "2.csv"


def test_a_prefix_outside_the_allowed_roots_is_refused(services: Services, data: Path) -> None:
    config = {"name": "x", "objects": {"prefix": "/etc"}, "target": training(data)}
    with pytest.raises(PermissionDenied, match="outside the allowed roots") as caught:
        services.triggers.create(ROOT, TriggerConfig.model_validate(config))
    assert caught.value.field == "objects.prefix"


def test_s3_event_notifications_on_the_hook(tmp_path: Path, data: Path) -> None:
    services = make_services(tmp_path / "s3home", data, "s3://lake/raw")
    transport = InProcessTransport(create_app(services=services), local=False)
    client = httpx.Client(transport=transport, base_url="http://localhost")
    made = client.post(
        "/api/v1/triggers",
        json={
            "name": "lake",
            "objects": {"prefix": "s3://lake/raw", "poll": False},
            "target": training(data, tags={"object": "{{trigger.uri}}"}),
            "secret": "s3-notification-secret",
        },
    )
    assert made.status_code == 201, made.text
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": "lake"},
            "object": {"key": "raw/day%3D1/part+1.csv", "size": 3, "sequencer": "0A1"},
        },
    }
    other = {**record, "s3": {"bucket": {"name": "lake"}, "object": {"key": "elsewhere/x"}}}
    body = orjson.dumps({"Records": [record, other]})
    headers = {"Content-Type": "application/json"}
    refused = client.post("/api/v1/hooks/triggers/lake", content=body, headers=headers)
    assert refused.status_code == 401
    headers["X-Dockyard-Trigger-Secret"] = "s3-notification-secret"
    answer = client.post("/api/v1/hooks/triggers/lake", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    fired = answer.json()["fired"]
    assert fired["cause"]["uris"] == ["s3://lake/raw/day=1/part 1.csv"]
    job = services.jobs.get(ROOT, fired["job"])
    assert job.spec["tags"]["object"] == "s3://lake/raw/day=1/part 1.csv"
    again = client.post("/api/v1/hooks/triggers/lake", content=body, headers=headers)
    assert again.json()["fired"]["firing_id"] == fired["firing_id"]
    junk = client.post("/api/v1/hooks/triggers/lake", content=b"{}", headers=headers)
    assert junk.status_code == 400 and junk.json()["error"]["field"] == "Records"
    (row,) = services.triggers.enabled(TriggerKind.OBJECTS)
    assert services.triggers.poll_objects(row) is None  # told, never listed
    client.close()
    transport.close()
    services.close()


@pytest.mark.parametrize("area", ["experiment", "uploads"])
def test_a_prefix_in_a_store_area_its_creator_may_not_read_is_refused(
    tmp_path: Path, data: Path, area: str
) -> None:
    """Its firings would name every file there (and each new one) to the trigger's creator,
    who may not list the folder."""
    services = make_services(tmp_path / "home", data, default_permission="none")
    root = ROOT
    services.auth.create_user(root, CreateUser(name="admin", role=Role.ADMIN))
    services.auth.create_user(root, CreateUser(name="carol", password="carol-password-1"))
    services.auth.create_user(root, CreateUser(name="bob", password="bob-password-12"))
    carol = services.auth.by_password("carol", "carol-password-1", "test")
    bob = services.auth.by_password("bob", "bob-password-12", "test")
    experiment = services.tracking.create_experiment(carol, CreateExperiment(name="private"))
    run = services.tracking.create_run(carol, CreateRun(experiment_id=experiment.experiment_id))
    store = tmp_path / "home" / "artifacts"
    prefix = store / run.info.artifact_uri if area == "experiment" else store / "data/users/carol"
    config = {"name": "peek", "objects": {"prefix": str(prefix)}, "target": training(data)}
    with pytest.raises(PermissionDenied) as caught:
        services.triggers.create(bob, TriggerConfig.model_validate(config))
    assert caught.value.field == "objects.prefix"
    services.triggers.create(carol, TriggerConfig.model_validate(config))  # hers to watch
    services.close()


def test_a_trigger_whose_creator_lost_read_on_its_prefix_fires_no_more(
    tmp_path: Path, data: Path
) -> None:
    services = make_services(tmp_path / "home", data, default_permission="none")
    services.auth.create_user(ROOT, CreateUser(name="admin", role=Role.ADMIN))
    services.auth.create_user(ROOT, CreateUser(name="carol", password="carol-password-1"))
    services.auth.create_user(ROOT, CreateUser(name="bob", password="bob-password-12"))
    carol = services.auth.by_password("carol", "carol-password-1", "test")
    bob = services.auth.by_password("bob", "bob-password-12", "test")
    experiment = services.tracking.create_experiment(carol, CreateExperiment(name="shared"))
    run = services.tracking.create_run(carol, CreateRun(experiment_id=experiment.experiment_id))
    shared = SetGrant(
        kind="experiment", resource=experiment.experiment_id, user="bob", level="read"
    )
    services.auth.set_grant(carol, shared)
    folder = tmp_path / "home" / "artifacts" / run.info.artifact_uri
    config = {"name": "watch", "objects": {"prefix": str(folder)}, "target": training(data)}
    services.triggers.create(bob, TriggerConfig.model_validate(config))
    services.auth.set_grant(carol, shared.model_copy(update={"level": "none"}))
    services.artifacts.put_bytes(f"{run.info.artifact_uri}/after.txt", b"1")
    (row,) = services.triggers.enabled(TriggerKind.OBJECTS)
    assert services.triggers.poll_objects(row) is None
    assert services.triggers.history(bob, "watch") == []
    services.close()
