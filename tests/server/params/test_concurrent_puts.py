"""Puts of one parameter on two server processes sharing a PostgreSQL database at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.services.postgres import connect, race

from dockyard.api.params import PutParameter
from dockyard.errors import AlreadyExists
from dockyard.server import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ROOT = Actor.local("root")


@pytest.fixture
def services(tmp_path: Path, postgres_url: str) -> Iterator[Services]:
    built = Services.from_settings(Settings(home=tmp_path / "h", database_url=postgres_url))
    yield built
    built.close()


@pytest.fixture
def other(postgres_url: str) -> Iterator[Any]:
    """Another server's connection, its transaction left open."""
    with connect(postgres_url) as conn:
        yield conn


def _put(services: Services, value: str, overwrite: bool = True) -> int:
    request = PutParameter(name="/team/threshold", value=value, overwrite=overwrite)
    return services.params.put(ROOT, request).version


def test_two_overwrites_at_once_make_two_versions(services: Services, other: Any) -> None:
    # Both read version 1 and both took version 2: the second failed on the key (500).
    assert _put(services, "0.5") == 1
    other.execute("UPDATE parameters SET version = 2 WHERE name = '/team/threshold'")
    other.execute(
        "INSERT INTO parameter_versions (name, version, type, value, description, created_by,"
        " created_time) SELECT name, 2, type, '0.6', '', 'other', 1 FROM parameters"
        " WHERE name = '/team/threshold'"
    )
    assert race(other, lambda: _put(services, "0.7")) == 3
    history = services.params.history(ROOT, "/team/threshold").parameters
    assert [(p.version, p.value) for p in history] == [(1, "0.5"), (2, "0.6"), (3, "0.7")]


def test_two_creations_at_once_make_one_parameter(services: Services, other: Any) -> None:
    other.execute(
        "INSERT INTO parameters (name, type, version, created_by, created_time, updated_by,"
        " updated_time) VALUES ('/team/threshold', 'String', 1, 'other', 1, 'other', 1)"
    )
    other.execute(
        "INSERT INTO parameter_versions (name, version, type, value, description, created_by,"
        " created_time) VALUES ('/team/threshold', 1, 'String', '0.5', '', 'other', 1)"
    )
    with pytest.raises(AlreadyExists):  # SSM's ParameterAlreadyExists, as one after the other
        race(other, lambda: _put(services, "0.6", overwrite=False))
    assert _put(services, "0.7") == 2
