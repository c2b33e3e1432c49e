"""Deleting an endpoint leaves its captured traffic in ``capture/<name>/``; a new endpoint of that
name would show it to its own readers. Only the account that made the last endpoint of that name
(or an admin) makes one there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sqlalchemy import select

from dockyard.api.endpoints import EndpointConfig
from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.errors import Conflict
from dockyard.models import save_model
from dockyard.server import Services
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import CreateUser
from dockyard.server.store import schema
from dockyard.settings import Settings


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[Services, dict[str, Actor]]]:
    services = Services.from_settings(Settings(home=tmp_path / "h", uri=None))
    system = Actor.system()
    people = {}
    for name, role in (("root", Role.ADMIN), ("alice", Role.MEMBER), ("mallory", Role.MEMBER)):
        services.auth.create_user(system, CreateUser(name=name, role=role))
        with services.db.read() as conn:
            user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
        people[name] = Actor(ActorKind.USER, name, role, user_id=int(user.user_id))
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    package = services.settings.home / "artifacts" / "pkg"
    save_model(LinearRegression().fit(frame, frame["a"]), package, input_example=frame)
    services.registry.create_registered_model(system, CreateRegisteredModel(name="m"))
    services.registry.create_model_version(system, "m", CreateModelVersion(source=str(package)))
    yield services, people
    services.close()


def _config(name: str) -> EndpointConfig:
    return EndpointConfig.model_validate(
        {
            "name": name,
            "variants": [{"name": "a", "model_uri": "models:/m/1"}],
            "capture": {"enabled": True},
        }
    )


def test_a_deleted_endpoints_captured_traffic_goes_to_no_one_else(
    team: tuple[Services, dict[str, Actor]],
) -> None:
    services, people = team
    alice, mallory = people["alice"], people["mallory"]
    services.endpoints.create(alice, _config("fraud"))
    # What its workers captured (no supervisor runs here to start them).
    hour = services.settings.home / "artifacts" / "capture" / "fraud" / "a" / "2026" / "12"
    hour.mkdir(parents=True)
    (hour / "traffic.jsonl").write_text('{"input": {"data": "card 4111..."}}\n')
    services.endpoints.delete(alice, "fraud")
    services.endpoints.remove("fraud")  # as the supervisor does once its workers stopped
    with pytest.raises(Conflict) as refused:
        services.endpoints.create(mallory, _config("fraud"))
    assert refused.value.field == "name"
    assert "made by alice" in refused.value.message
    assert "capture/fraud/" in refused.value.message
    # Its own creator makes it again; an admin may too; any other name is free.
    services.endpoints.create(alice, _config("fraud"))
    services.endpoints.create(mallory, _config("fraud-2"))
    services.endpoints.delete(alice, "fraud")
    services.endpoints.remove("fraud")
    services.endpoints.create(people["root"], _config("fraud"))
