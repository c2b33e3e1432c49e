"""Leadership: one leader per database, whatever the servers' homes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.server.store import open_database
from dockyard.server.store._leader import LeaderLock


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.db"
    return str(request.getfixturevalue("postgres_url"))


def test_servers_with_different_homes_elect_one_leader(url: str, tmp_path: Path) -> None:
    first_db, second_db = open_database(url), open_database(url)
    first = LeaderLock(first_db, tmp_path / "home-a", "scheduler")
    second = LeaderLock(second_db, tmp_path / "home-b", "scheduler")
    other_kind = LeaderLock(second_db, tmp_path / "home-b", "endpoints")
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert other_kind.try_acquire()  # each kind of work has its own leader
        first.release()
        assert second.try_acquire()  # a follower takes over when the leader goes
        assert not first.try_acquire()
    finally:
        for lock in (first, second, other_kind):
            lock.release()
        first_db.dispose()
        second_db.dispose()


def test_one_sqlite_file_under_two_spellings_has_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    absolute = open_database(f"sqlite:///{tmp_path}/data/shared.db")
    relative = open_database("sqlite:///link/shared.db")
    first = LeaderLock(absolute, tmp_path / "home-a", "scheduler")
    second = LeaderLock(relative, tmp_path / "home-b", "scheduler")
    try:
        assert first.try_acquire() and not second.try_acquire()
        assert not (tmp_path / "home-a").exists() and not (tmp_path / "home-b").exists()
    finally:
        first.release()
        second.release()
        absolute.dispose()
        relative.dispose()


def test_a_lock_whose_session_the_database_ended_is_no_longer_held(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.services.postgres import end_advisory_lock_holders

    first_db, second_db = open_database(postgres_url), open_database(postgres_url)
    first = LeaderLock(first_db, tmp_path / "a", "scheduler")
    second = LeaderLock(second_db, tmp_path / "b", "scheduler")
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        # What a restart of the database does to the leader's session.
        end_advisory_lock_holders(postgres_url)
        assert not first.held()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
        first_db.dispose()
        second_db.dispose()


def test_a_leader_holds_its_lock_outside_any_transaction(postgres_url: str, tmp_path: Path) -> None:
    # The lock is the session's: a transaction left open from taking it until the first check
    # (a loop's whole pass, tens of seconds) is what `idle_in_transaction_session_timeout`,
    # often set on shared databases, ends, and with it the session and the lead.
    import psycopg
    from sqlalchemy.engine import make_url

    db = open_database(postgres_url)
    lock = LeaderLock(db, tmp_path / "a", "scheduler")
    parsed = make_url(postgres_url)
    try:
        assert lock.try_acquire()
        with psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        ) as admin:
            states = admin.execute(
                "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            ).fetchall()
        assert states == [("idle",)]
        assert lock.held()
    finally:
        lock.release()
        db.dispose()
