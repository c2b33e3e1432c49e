"""Prebuilt statements on SQLite's driver: what SQLAlchemy would do, in the same transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import Unavailable
from dockyard.server.store import (
    DriverInsert,
    DriverSelect,
    open_database,
    schema,
    upsert_statement,
)

_E = schema.experiments
_LM = schema.latest_metrics


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/meta.db"
    return str(request.getfixturevalue("postgres_url"))


def test_rows_match_sqlalchemy_and_see_the_transactions_own_writes(url: str) -> None:
    db = open_database(url)
    statement = select(_E.c.experiment_id, _E.c.name).where(_E.c.name == bindparam("name"))
    query = DriverSelect(statement)
    try:
        with db.write() as conn:
            conn.execute(
                _E.insert().values(
                    name="driver-select",
                    artifact_location="/a",
                    creation_time=1,
                    last_update_time=1,
                )
            )
            # Not yet committed: only the transaction's own connection sees the row.
            rows = [tuple(row) for row in query.rows(conn, {"name": "driver-select"})]
            expected = [tuple(row) for row in conn.execute(statement, {"name": "driver-select"})]
        assert rows == expected
        assert len(rows) == 1 and rows[0][1] == "driver-select"
        with db.read() as conn:
            assert list(query.rows(conn, {"name": "absent"})) == []
    finally:
        db.dispose()


def test_columns_whose_values_are_converted_are_refused() -> None:
    # DateTime is stored as text on SQLite and parsed by SQLAlchemy: the driver would differ.
    from sqlalchemy import Column, DateTime, MetaData, Table

    table = Table("t", MetaData(), Column("at", DateTime))
    with pytest.raises(ValueError, match="'at'"):
        DriverSelect(select(table.c.at))


def test_expanding_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="expanding"):
        DriverSelect(select(_LM.c.key).where(_LM.c.run_id.in_(bindparam("ids", expanding=True))))


def test_booleans_are_accepted_for_their_truth() -> None:
    assert "is_nan" in DriverSelect(select(_LM.c.is_nan)).sql


def test_a_database_error_on_sqlite_is_unavailable(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path}/meta.db")
    query = DriverSelect(select(_E.c.name))
    try:
        with db.read() as conn:
            query.sql = "SELECT name FROM no_such_table"
            with pytest.raises(Unavailable, match="no_such_table"):
                query.rows(conn, {})
    finally:
        db.dispose()


_EVENT_COLUMNS = ("time", "type", "resource_type", "resource_id", "scope", "actor", "body")


def test_inserts_and_upserts_store_what_sqlalchemy_stores(url: str) -> None:
    db = open_database(url)
    columns = ("run_id", "key", "value", "is_nan", "timestamp", "step")
    latest = DriverInsert(
        lambda dialect: upsert_statement(dialect, _LM, columns, ("run_id", "key")), columns
    )
    events = DriverInsert(lambda _: schema.events.insert(), _EVENT_COLUMNS)
    try:
        with db.write() as conn:
            conn.execute(
                _E.insert().values(
                    experiment_id=1,
                    name="e",
                    artifact_location="/a",
                    creation_time=1,
                    last_update_time=1,
                )
            )
            conn.execute(
                schema.runs.insert().values(
                    run_id="r1",
                    experiment_id=1,
                    name="r",
                    user_id="",
                    status="RUNNING",
                    start_time=1,
                    artifact_uri="/a/r1",
                    lifecycle_stage="active",
                )
            )
            latest.execute(conn, [("r1", "loss", 0.5, False, 1, 0), ("r1", "acc", 0.0, True, 1, 0)])
            latest.execute(conn, [("r1", "loss", 0.25, False, 2, 1)])  # the conflict updates
            events.execute(conn, [(7, "run.logged", "run", "r1", "experiment:1", "a", "{}")])
        with db.read() as conn:
            rows = conn.execute(
                select(_LM.c.key, _LM.c.value, _LM.c.is_nan, _LM.c.step).order_by(_LM.c.key)
            ).all()
            [event] = conn.execute(select(schema.events)).all()
        # Read back through SQLAlchemy: a Boolean stored by the driver reads as a bool.
        assert [tuple(r) for r in rows] == [("acc", 0.0, True, 0), ("loss", 0.25, False, 1)]
        assert (event.type, event.resource_id, event.source, event.outcome) == (
            "run.logged",
            "r1",
            "",
            "ok",
        )
    finally:
        db.dispose()


def test_an_insert_whose_values_convert_is_refused() -> None:
    from sqlalchemy import Column, DateTime, MetaData, Table

    table = Table("t", MetaData(), Column("at", DateTime))
    with pytest.raises(ValueError, match="'at'"):
        DriverInsert(lambda _: table.insert(), ("at",))


def test_an_insert_binding_more_than_its_columns_is_refused() -> None:
    statement = schema.events.insert().values(type=bindparam("kind"))
    with pytest.raises(ValueError, match="not the columns"):
        DriverInsert(lambda _: statement, ("time",))


def test_a_constraint_broken_on_sqlite_is_sqlalchemys_integrity_error(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path}/meta.db")
    columns = ("run_id", "key", "value", "is_nan", "timestamp", "step")
    latest = DriverInsert(
        lambda dialect: upsert_statement(dialect, _LM, columns, ("run_id", "key")), columns
    )
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), db.write() as conn:
            latest.execute(conn, [("no-such-run", "loss", 0.5, False, 1, 0)])
    finally:
        db.dispose()
