"""Migrations: the migrated database matches schema.py, re-running is a no-op, races are safe."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from dockyard.store import Database, open_database, schema


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    return str(request.getfixturevalue("postgres_url"))


def test_migrated_database_matches_schema(url: str) -> None:
    db = open_database(url)
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert diff == []


def test_migrating_twice_is_a_no_op(url: str) -> None:
    open_database(url).dispose()
    db = open_database(url)
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM experiments")).scalar() == 1
    db.dispose()


def _start(url: str) -> None:
    open_database(url).dispose()


def test_two_processes_starting_at_once(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_start, args=(url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    db = Database(url)
    with db.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.dispose()
