"""Write transactions: ``without_waiting`` refuses, before it begins, a write that would wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dockyard.errors import NotFound, Unavailable
from dockyard.server.store import Database, WriterBusy, after_commit, open_database, schema

_E = schema.experiments


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/meta.db")
    yield database
    database.dispose()


def _add(conn: object, name: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        _E.insert().values(name=name, artifact_location="/a", creation_time=1, last_update_time=1)
    )


def _names(db: Database) -> list[str]:
    """The experiments' names, but the one every new database has."""
    with db.read() as conn:
        rows = conn.execute(select(_E.c.name).where(_E.c.name != "Default").order_by(_E.c.name))
        return [r[0] for r in rows]


def _holding(db: Database) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread inside a write transaction of ``db`` until ``release`` is set."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as conn:
            _add(conn, "held")
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return held, release, thread


def test_a_free_write_commits_and_leaves_the_waiting_writers_as_they_are(db: Database) -> None:
    with db.without_waiting(), db.write() as conn:
        _add(conn, "quick")
        driver = conn.connection.driver_connection
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    assert _names(db) == ["quick"]
    with db.write() as conn:  # the writes that wait keep their settings
        driver = conn.connection.driver_connection
        assert driver.execute("PRAGMA busy_timeout").fetchone() == (30000,)
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)


def _refused_while_holding(db: Database, holder: Database) -> None:
    """While ``holder`` is in a write transaction, a write of ``db`` without waiting is
    refused."""
    _, release, thread = _holding(holder)
    try:
        with pytest.raises(WriterBusy), db.without_waiting(), db.write() as conn:
            _add(conn, "refused")
    finally:
        release.set()
        thread.join()


def test_a_write_of_this_process_in_progress_refuses_at_once(db: Database) -> None:
    _refused_while_holding(db, db)
    assert _names(db) == ["held"]


def test_another_processs_write_refuses_at_once(tmp_path: Path, db: Database) -> None:
    other = Database(db.url)  # its own lock and connections, as another process has
    _, release, thread = _holding(other)
    started = time.monotonic()
    try:
        with pytest.raises(WriterBusy), db.without_waiting(), db.write() as conn:
            _add(conn, "refused")
        assert time.monotonic() - started < 5  # not the 30 s busy timeout
        with db.write() as conn:  # the connection waits again outside the block
            driver = conn.connection.driver_connection
            assert driver.execute("PRAGMA busy_timeout").fetchone() == (30000,)
            release.set()
            _add(conn, "waited")
    finally:
        release.set()
        thread.join()
        other.dispose()
    assert _names(db) == ["held", "waited"]


def test_writes_without_waiting_keep_one_connection_and_a_failed_one_leaves_it_clean(
    tmp_path: Path, db: Database
) -> None:
    drivers = set()
    for name in ("a", "b"):
        with db.without_waiting(), db.write() as conn:
            _add(conn, name)
            drivers.add(id(conn.connection.driver_connection))
    assert len(drivers) == 1  # kept between writes, not checked out of the pool each time
    with pytest.raises(RuntimeError), db.without_waiting(), db.write() as conn:
        _add(conn, "rolled back")
        raise RuntimeError("the handler broke")
    other = Database(db.url)
    try:
        _refused_while_holding(db, other)  # another process writes: the next one is refused
    finally:
        other.dispose()
    with db.without_waiting(), db.write() as conn:  # and the one after commits
        _add(conn, "c")
    assert _names(db) == ["a", "b", "c", "held"]


def test_waited_writes_keep_one_connection_and_a_failed_one_leaves_it_clean(db: Database) -> None:
    kept = []
    for name in ("a", "b"):
        with db.write() as conn:
            _add(conn, name)
            kept.append(conn)
    assert kept[0] is kept[1]  # not checked out of the pool and back each time
    with pytest.raises(RuntimeError), db.write() as conn:
        _add(conn, "rolled back")
        raise RuntimeError("the handler broke")
    assert conn.closed  # dropped: the next write starts on a clean connection
    with db.write() as conn:
        _add(conn, "c")
    assert conn is not kept[0]
    assert _names(db) == ["a", "b", "c"]


def test_a_threads_reads_keep_one_connection_and_only_a_database_error_drops_it(
    db: Database,
) -> None:
    with db.read() as one, db.read() as two:
        assert one is not two
    with db.read() as three:
        assert three is not one  # a thread that did not ask reads from the pool
    db.keep_reads_here()
    with db.read() as first, db.read() as nested:
        assert nested is not first  # a read within a read has a connection of its own
    with db.read() as again:
        assert again is first  # not checked out of the pool and back each time
    with pytest.raises(NotFound), db.read() as conn:
        raise NotFound("no such run")  # the caller's error: its rollback is all it needs
    assert conn is first and not conn.closed
    with pytest.raises(Unavailable), db.read() as conn:
        raise Unavailable("the database went away")  # the database's, translated: dropped
    assert conn.closed
    with db.read() as conn:
        assert conn is not first
        second = conn
    with pytest.raises(Exception, match="no such table"), db.read() as conn:
        conn.exec_driver_sql("SELECT * FROM missing")
    assert conn is second and conn.closed  # dropped: the next read starts on a clean one
    with db.read() as fresh:
        assert fresh is not second
        assert fresh.exec_driver_sql("SELECT 1").scalar() == 1


def test_at_most_four_threads_keep_read_connections_and_dispose_waits_for_a_running_read(
    db: Database,
) -> None:
    alive = threading.Barrier(6)  # all six at once: six threads, six identifiers
    kept: list[object] = []

    def read_twice() -> None:
        db.keep_reads_here()
        with db.read() as one:
            pass
        alive.wait(10)
        with db.read() as two:
            if one is two:
                kept.append(one)

    threads = [threading.Thread(target=read_twice) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 4  # the other two read from the pool each time
    db.keep_reads_here()  # a fifth asking: refused
    with db.read() as mine:
        pass
    assert mine.closed  # from the pool, returned to it at once
    db.dispose()
    assert all(conn.closed for conn in kept)  # type: ignore[attr-defined]


def test_dispose_lets_a_running_read_end_before_closing_its_connection(db: Database) -> None:
    db.keep_reads_here()
    with db.read() as conn:
        other = threading.Thread(target=db.dispose)
        other.start()
        other.join()
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1  # still open mid-read
    assert conn.closed


def test_a_read_ended_on_another_thread_frees_the_thread_that_began_it(db: Database) -> None:
    db.keep_reads_here()

    def rows() -> Iterator[int]:
        with db.read() as conn:
            yield conn.exec_driver_sql("SELECT 1").scalar()

    stepped = rows()
    assert next(stepped) == 1  # begun on this thread
    ended = threading.Thread(target=lambda: next(stepped, None))  # ended on another
    ended.start()
    ended.join()
    with db.read() as first, db.read() as nested:  # this thread's kept one is free again
        assert nested is not first
    with db.read() as again:
        assert again is first


def test_a_kept_connection_also_carries_its_threads_writes_that_do_not_wait(db: Database) -> None:
    # SQLite empties a connection's page cache after another connection's commit: the loop's
    # reads and its inline writes share one connection, so each keeps what the other loaded.
    db.keep_reads_here()
    with db.read() as read:
        kept = read.connection.driver_connection
    with db.without_waiting(), db.write() as conn:
        assert conn.connection.driver_connection is kept
        _add(conn, "inline")
        with db.read() as nested:  # a read inside the write: another connection, last commit
            assert nested.connection.driver_connection is not kept
            names = nested.execute(select(schema.experiments.c.name)).scalars().all()
            assert "inline" not in names
    with db.read() as read:
        assert read.connection.driver_connection is kept
    assert "inline" in _names(db)
    written = threading.Event()

    def write_elsewhere() -> None:
        with db.write() as conn:
            _add(conn, "elsewhere")
        written.set()

    with db.read():  # a read on it begins deferred: it holds no lock a writer waits for
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        assert written.wait(10)
    writer.join()
    assert {"inline", "elsewhere"} <= set(_names(db))


def test_a_write_refused_because_another_process_writes_keeps_the_kept_connection(
    db: Database,
) -> None:
    other = open_database(db.url)  # another server process on the same file
    db.keep_reads_here()
    with db.read() as read:
        kept = read
    try:
        with other.write() as holding:
            _add(holding, "other's")
            with pytest.raises(WriterBusy), db.without_waiting(), db.write() as conn:
                _add(conn, "refused")
        with db.read() as read:
            assert read is kept and not read.closed  # its page cache survives the refusal
    finally:
        other.dispose()
    assert _names(db) == ["other's"]


def test_a_one_statement_read_runs_without_begin_and_commit_on_a_kept_connection(
    db: Database,
) -> None:
    with db.read_statement() as pooled:  # a thread that keeps none: a read transaction
        assert pooled.in_transaction()
    db.keep_reads_here()
    with db.read() as read:
        kept = read
    with db.read_statement() as conn:
        assert conn is kept and not conn.in_transaction()
        driver = conn.connection.driver_connection
        assert driver.execute("SELECT count(*) FROM experiments").fetchone() == (1,)
        assert not driver.in_transaction  # the statement was a transaction of its own
    with db.read_statement() as conn:  # through SQLAlchemy: it begins one, rolled back after
        assert conn.execute(select(schema.experiments.c.name)).scalars().all() == ["Default"]
        assert conn.in_transaction()
    assert not conn.in_transaction() and not conn.closed
    with pytest.raises(NotFound), db.read_statement() as conn:
        raise NotFound("no such execution")  # the caller's own: raised, the connection kept
    assert conn is kept and not conn.closed
    with pytest.raises(Unavailable), db.read_statement() as conn:
        raise Unavailable("the database went away")
    assert conn.closed
    with db.read() as read:
        assert read is not kept and read.exec_driver_sql("SELECT 1").scalar() == 1


def test_one_write_in_so_many_is_left_to_a_thread_to_checkpoint(db: Database) -> None:
    refused = 0
    for i in range(600):
        try:
            with db.without_waiting(), db.write() as conn:
                _add(conn, f"e{i:03}")
        except WriterBusy:
            refused += 1
    assert refused == 2  # the 256th and the 512th
    assert len(_names(db)) == 598


def test_without_waiting_changes_nothing_on_postgresql(postgres_url: str) -> None:
    db = open_database(postgres_url)
    try:
        with db.without_waiting(), db.write() as conn:
            _add(conn, "pg")
        assert _names(db) == ["pg"]
    finally:
        db.dispose()


def test_after_commit_runs_once_the_write_commits_and_never_after_a_rollback(
    db: Database,
) -> None:
    seen: list[list[str]] = []
    with db.write() as conn:
        _add(conn, "a")
        after_commit(lambda: seen.append(_names(db)))
        assert seen == []
    assert seen == [["a"]]
    with pytest.raises(RuntimeError), db.write() as conn:
        _add(conn, "b")
        after_commit(lambda: seen.append(["rolled back"]))
        raise RuntimeError("the change failed")
    after_commit(lambda: seen.append(["outside"]))  # no transaction open: at once
    assert seen == [["a"], ["outside"]]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_unique_key_taken_meanwhile_is_a_conflict_to_send_again(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A row read as missing and then inserted, while another server process on the same
    # PostgreSQL database inserted it in between: a write no repository expected to clash
    # answers 409 saying to send the request again, not 500 with the driver's words.
    from dockyard.errors import Conflict

    url = (
        f"sqlite:///{tmp_path}/unique.db"
        if dialect == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    database = open_database(url)
    try:
        with database.write() as conn:
            _add(conn, "fraud")
        with pytest.raises(Conflict) as raised, database.write() as conn:
            _add(conn, "fraud")
        assert "at the same time" in raised.value.message
        assert raised.value.status_code == 409
        assert _names(database) == ["fraud"]
    finally:
        database.dispose()
