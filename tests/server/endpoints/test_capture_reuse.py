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
    services = Services.from_settings(
        Settings(home=tmp_path / "h", uri=None, data_roots=[str(tmp_path / "data")])
    )
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


def _capturing_in(name: str, destination: Path) -> EndpointConfig:
    config = _config(name).model_dump(exclude_none=True)
    config["capture"]["destination"] = str(destination)
    return EndpointConfig.model_validate(config)


def _served(services: Services, name: str) -> None:
    """As the supervisor marks an endpoint once its workers answer (none run here)."""
    with services.db.write() as conn:
        conn.execute(
            schema.endpoints.update()
            .where(schema.endpoints.c.name == name)
            .values(status="InService")
        )


def test_an_update_moves_no_endpoint_onto_a_deleted_ones_captured_traffic(
    team: tuple[Services, dict[str, Actor]], tmp_path: Path
) -> None:
    """The check ran at create only: another member made an endpoint of the deleted one's name
    capturing where nothing lay, then updated its capture destination to where the deleted
    endpoint's traffic was left, and read it."""
    services, people = team
    alice, mallory = people["alice"], people["mallory"]
    left = tmp_path / "data" / "alice-capture"
    services.endpoints.create(alice, _capturing_in("fraud", left))
    (left / "fraud" / "a").mkdir(parents=True)
    (left / "fraud" / "a" / "traffic.jsonl").write_text('{"input": "card 4111..."}\n')
    services.endpoints.delete(alice, "fraud")
    services.endpoints.remove("fraud")
    with pytest.raises(Conflict):  # at create, as before
        services.endpoints.create(mallory, _capturing_in("fraud", left))
    services.endpoints.create(mallory, _config("fraud"))  # nothing lies in capture/fraud/
    _served(services, "fraud")
    with pytest.raises(Conflict) as refused:
        services.endpoints.update(mallory, "fraud", _capturing_in("fraud", left))
    assert refused.value.field == "name" and "made by alice" in refused.value.message
    # Moving its capture where nothing lies is an update like any other.
    services.endpoints.update(mallory, "fraud", _capturing_in("fraud", tmp_path / "data" / "m"))


def test_an_endpoint_made_in_between_does_not_make_its_creator_the_traffics_owner(
    team: tuple[Services, dict[str, Actor]], tmp_path: Path
) -> None:
    """Only the last endpoint of the name was asked who made it: another member made one of
    the deleted endpoint's name capturing elsewhere, deleted it, and made it again where the
    deleted endpoint's traffic lay, as the name's last creator."""
    services, people = team
    alice, mallory = people["alice"], people["mallory"]
    services.endpoints.create(alice, _config("fraud"))
    hour = services.settings.home / "artifacts" / "capture" / "fraud" / "a" / "2026" / "12"
    hour.mkdir(parents=True)
    (hour / "traffic.jsonl").write_text('{"input": {"data": "card 4111..."}}\n')
    services.endpoints.delete(alice, "fraud")
    services.endpoints.remove("fraud")
    services.endpoints.create(mallory, _capturing_in("fraud", tmp_path / "data" / "m"))
    services.endpoints.delete(mallory, "fraud")
    services.endpoints.remove("fraud")
    with pytest.raises(Conflict) as refused:
        services.endpoints.create(mallory, _config("fraud"))
    assert "made by alice" in refused.value.message
