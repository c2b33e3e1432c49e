"""Areas of the artifact store a spec may name: each follows the resource that owns it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dockyard.api.registry import CreateRegisteredModel
from dockyard.api.tracking import CreateExperiment, CreateRun
from dockyard.errors import PermissionDenied
from dockyard.server import Services
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import CreateUser, StoreAreas
from dockyard.server.store import schema
from dockyard.settings import Settings

LOCAL = Actor.local("root")


@pytest.fixture(params=["none", "read"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, object]]:
    settings = Settings(home=tmp_path / "h", default_permission=request.param)
    services = Services.from_settings(settings)
    services.auth.create_user(LOCAL, CreateUser(name="root", role=Role.ADMIN))
    people = {}
    for name in ("alice", "bob"):
        services.auth.create_user(LOCAL, CreateUser(name=name))
        with services.db.read() as conn:
            user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
        people[name] = Actor(ActorKind.USER, name, Role.MEMBER, user_id=int(user.user_id))
    alice = people["alice"]
    experiment = services.tracking.create_experiment(
        alice, CreateExperiment(name="a")
    ).experiment_id
    run = services.tracking.create_run(alice, CreateRun(experiment_id=experiment)).info.run_id
    services.registry.create_registered_model(alice, CreateRegisteredModel(name="m"))
    with services.db.read() as conn:
        model_id = conn.execute(select(schema.registered_models.c.model_id)).scalar_one()
    yield {
        "services": services,
        "default": request.param,
        "alice": alice,
        "bob": people["bob"],
        "run_key": f"{experiment}/{run}/artifacts/model/MLmodel",
        "model_key": f"registry/{model_id}/1/MLmodel",
    }
    services.close()


def _allowed(world: dict[str, object], who: str, key: str, **kw: object) -> bool:
    services = world["services"]
    assert isinstance(services, Services)
    actor = world.get(who, LOCAL)
    assert isinstance(actor, Actor)
    areas = StoreAreas(services.access)
    try:
        with services.db.read() as conn:
            areas.check(conn, actor, key, "uri", **kw)  # type: ignore[arg-type]
    except PermissionDenied as exc:
        assert exc.field == "uri" and key in exc.message
        return False
    return True


def test_reading_follows_the_owning_resource(world: dict[str, object]) -> None:
    open_reads = world["default"] == "read"
    for key in (world["run_key"], world["model_key"], "data/users/alice/train.csv"):
        assert isinstance(key, str)
        assert _allowed(world, "alice", key)
        assert _allowed(world, "bob", key) is open_reads
        assert _allowed(world, "local", key)
    assert _allowed(world, "bob", "data/shared-before-accounts/train.csv")
    assert not _allowed(world, "bob", "somewhere/else")


def test_writing_only_into_ones_own_area(world: dict[str, object]) -> None:
    assert _allowed(world, "bob", "transform/job-b/out", write=True, owner="job-b")
    assert not _allowed(world, "bob", "transform/job-a/out", write=True, owner="job-b")
    assert _allowed(world, "bob", "capture/ep-b/v", write=True, owner="ep-b")
    assert not _allowed(world, "bob", "capture/ep-a/v", write=True, owner="ep-b")
    assert _allowed(world, "bob", "checkpoints/bob/run-1", write=True)
    assert not _allowed(world, "bob", "checkpoints/alice/run-1", write=True)
