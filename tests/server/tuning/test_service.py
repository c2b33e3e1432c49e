"""Who may create, read and stop a tuning job (in process, no jobs run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.server.tuning.conftest import SCRIPTS

from dockyard.api.tuning import TuningJobSpec, TuningJobStatus
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import CreateUser
from dockyard.server.store import schema
from dockyard.settings import Settings

ROOT = Actor.local("root")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(SCRIPTS)]))
    made.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    yield made
    made.close()


def account(services: Services, name: str, role: Role = Role.MEMBER) -> Actor:
    services.auth.create_user(ROOT, CreateUser(name=name, role=role))
    with services.db.read() as conn:
        user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
    return Actor(ActorKind.USER, name, role, user_id=int(user.user_id))


def spec(name: str = "t", **training: Any) -> TuningJobSpec:
    return TuningJobSpec.model_validate(
        {
            "name": name,
            "config": {
                "strategy": "Random",
                "objective": {"type": "Minimize", "metric_name": "loss"},
                "resource_limits": {"max_jobs": 2},
                "parameter_ranges": {"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
            },
            "training_job": {"entry_point": "trial.py", "source_dir": str(SCRIPTS), **training},
        }
    )


def test_create_describe_list_and_stop(services: Services) -> None:
    alice = account(services, "alice")
    made = services.tuning.create(alice, spec())
    assert made.status is TuningJobStatus.IN_PROGRESS and made.run_id
    run = services.tracking.get_run(alice, made.run_id)
    assert run.params["strategy"] == "Random" and run.tags["dockyard.tuning.name"] == "t"
    assert [j.name for j in services.tuning.page(alice).items] == ["t"]
    assert services.tuning.trials(alice, "t") == []
    stopped = services.tuning.stop(alice, "t")
    assert stopped.status is TuningJobStatus.STOPPING
    types = [e.type for e in services.events.read(types=["tuning.*"])]
    assert types == ["tuning.started", "tuning.stop_requested"]


def test_bad_requests_name_their_field(services: Services) -> None:
    alice = account(services, "alice")
    services.tuning.create(alice, spec())
    with pytest.raises(InvalidArgument) as taken:
        services.tuning.create(alice, spec())
    assert taken.value.field == "name"
    with pytest.raises(InvalidArgument) as missing:
        services.tuning.create(alice, spec("u", entry_point="nothing.py"))
    assert missing.value.field == "training_job.entry_point"
    with pytest.raises(InvalidArgument) as status:
        services.tuning.page(alice, status=["Running"])
    assert status.value.field == "status"
    with pytest.raises(NotFound):
        services.tuning.get(alice, "nobody")


def test_only_members_create_and_only_the_creator_or_a_manager_stops(
    services: Services,
) -> None:
    alice, bob = account(services, "alice"), account(services, "bob")
    viewer = account(services, "vic", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.tuning.create(viewer, spec())
    services.tuning.create(alice, spec())
    with pytest.raises(PermissionDenied):
        services.tuning.stop(bob, "t")
    assert services.tuning.stop(ROOT, "t").status is TuningJobStatus.STOPPING
