"""Prebuilt selects on SQLite's driver: the same rows as SQLAlchemy's, in the same transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, select

from dockyard.errors import Unavailable
from dockyard.server.store import DriverSelect, open_database, schema

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
