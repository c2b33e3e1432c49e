"""Endpoint rows on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists
from dockyard.server.endpoints._repository import EndpointRepository
from dockyard.server.store import Database, open_database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/endpoints.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    database = open_database(url)
    yield database
    database.dispose()


def _row(name: str, port: int) -> dict[str, object]:
    return {
        "name": name,
        "status": "Creating",
        "config": "{}",
        "port": port,
        "created_time": 1,
        "updated_time": 1,
    }


def test_an_insert_that_loses_a_race_for_the_name_says_the_name_is_taken(db: Database) -> None:
    # Two servers that both found the name free: the second insert fails on the primary key.
    # On PostgreSQL a failed statement aborts its transaction, so finding out which column
    # clashed must not need that transaction any more (it answered 500 before).
    repo = EndpointRepository()
    with db.write() as conn:
        repo.insert(conn, **_row("wine", 40001))
    with pytest.raises(AlreadyExists) as raised, db.write() as conn:
        repo.insert(conn, **_row("wine", 40002))
    assert raised.value.field == "name"
    assert "wine" in raised.value.message


def test_an_insert_that_loses_a_race_for_the_port_says_the_port_is_taken(db: Database) -> None:
    repo = EndpointRepository()
    with db.write() as conn:
        repo.insert(conn, **_row("wine", 40001))
    with pytest.raises(AlreadyExists) as raised, db.write() as conn:
        repo.insert(conn, **_row("beer", 40001))
    assert raised.value.field == "port"
    assert "40001" in raised.value.message


def test_the_transaction_goes_on_after_a_refused_insert(db: Database) -> None:
    repo = EndpointRepository()
    with db.write() as conn:
        repo.insert(conn, **_row("wine", 40001))
    with db.write() as conn:
        with pytest.raises(AlreadyExists):
            repo.insert(conn, **_row("wine", 40002))
        repo.insert(conn, **_row("beer", 40003))
    with db.read() as conn:
        assert repo.exists(conn, "beer")
