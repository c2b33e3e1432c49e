"""Group commit: works awaited together on one event loop share a transaction, each in a
savepoint of its own."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import InvalidArgument
from dockyard.server.store import (
    Database,
    GroupedWrites,
    WriterBusy,
    after_commit,
    open_database,
    schema,
)
from dockyard.server.store._database import Grouped

_E = schema.experiments
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/meta.db")
    yield database
    database.dispose()


def _add(name: str) -> Callable[[Any], str]:
    def work(conn: Any) -> str:
        conn.execute(
            _E.insert().values(
                name=name, artifact_location="/a", creation_time=1, last_update_time=1
            )
        )
        return name

    return work


def _names(db: Database) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(select(_E.c.name).where(_E.c.name != "Default").order_by(_E.c.name))
        return [r[0] for r in rows]


def _commits(db: Database) -> list[int]:
    """A list that grows by one at each commit of ``db``'s writers."""
    seen: list[int] = []
    for engine in (db.write_engine, db._unwaited_engine):
        event.listen(engine, "commit", lambda conn: seen.append(1))
    return seen


def _failing(conn: Any) -> None:
    _add("rolled back")(conn)
    after_commit(lambda: pytest.fail("a failed work's callbacks never run"))
    raise InvalidArgument("no", field="name")


def test_each_work_commits_but_the_one_that_fails(db: Database) -> None:
    seen: list[str] = []

    def noted(name: str) -> Callable[[Any], str]:
        def work(conn: Any) -> str:
            after_commit(lambda: seen.append(f"{name} after {_names(db)}"))
            return _add(name)(conn)

        return work

    group = [
        Grouped(noted("a"), contextvars.copy_context()),
        Grouped(_failing, contextvars.copy_context()),
        Grouped(_add("a"), contextvars.copy_context()),  # the database refuses: name is unique
        Grouped(noted("c"), contextvars.copy_context()),
    ]
    commits = _commits(db)
    db.write_each(group)
    assert [g.result for g in group] == ["a", None, None, "c"]
    assert isinstance(group[1].error, InvalidArgument)
    assert isinstance(group[2].error, IntegrityError)
    assert _names(db) == ["a", "c"]
    assert len(commits) == 1
    # callbacks wait for the commit, so each sees both rows
    assert seen == ["a after ['a', 'c']", "c after ['a', 'c']"]


def test_each_work_runs_in_its_callers_context(db: Database) -> None:
    contexts = []
    for who in ("ann", "bob"):
        token = WHO.set(who)
        contexts.append(contextvars.copy_context())
        WHO.reset(token)
    group = [Grouped(lambda conn: WHO.get(), ctx) for ctx in contexts]
    db.write_each(group)
    assert [g.result for g in group] == ["ann", "bob"]


def test_a_busy_writer_refuses_the_whole_group_before_it_runs(db: Database) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as conn:
            _add("held")(conn)
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    group = [Grouped(_add("a"), contextvars.copy_context())]
    try:
        with pytest.raises(WriterBusy), db.without_waiting():
            db.write_each(group)
    finally:
        release.set()
        thread.join()
    assert group[0].result is None and group[0].error is None
    assert _names(db) == ["held"]


def test_writes_awaited_together_share_one_commit(db: Database) -> None:
    grouped = GroupedWrites(db)
    commits = _commits(db)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(grouped.write(_add(f"e{i}")) for i in range(8)),
            grouped.write(_failing),
            return_exceptions=True,
        )

    results = asyncio.run(main())
    assert results[:8] == [f"e{i}" for i in range(8)]
    assert isinstance(results[8], InvalidArgument)
    assert _names(db) == [f"e{i}" for i in range(8)]
    assert len(commits) == 1


def test_a_flush_runs_at_most_a_group_and_leaves_the_rest_to_the_next_turn(db: Database) -> None:
    grouped = GroupedWrites(db)
    commits = _commits(db)

    async def main() -> list[str]:
        return await asyncio.gather(*(grouped.write(_add(f"n{i:02}")) for i in range(20)))

    assert asyncio.run(main()) == [f"n{i:02}" for i in range(20)]
    assert len(commits) == 2  # 16, then 4


def test_a_write_reached_on_the_next_turn_joins_the_commit(db: Database) -> None:
    """The first write of a batch waits a turn more than its own: a request whose task was made
    while that write was queued (its bytes read in the same pass) reaches its write on the next
    turn, and shares the commit rather than paying one of its own."""
    grouped = GroupedWrites(db)
    commits = _commits(db)

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        first = loop.create_task(grouped.write(_add("first")))
        await asyncio.sleep(0)  # the first write is queued, its flush scheduled
        later = loop.create_task(grouped.write(_add("later")))  # runs on the next turn
        return [await first, await later]

    assert asyncio.run(main()) == ["first", "later"]
    assert _names(db) == ["first", "later"]
    assert len(commits) == 1


def test_a_work_that_refuses_the_loop_is_told_and_the_others_commit(db: Database) -> None:
    grouped = GroupedWrites(db)

    def long(conn: Any) -> str:
        _add("long")(conn)
        if not db.may_wait():
            raise WriterBusy("too long for the loop")
        return "long"

    async def main() -> list[Any]:
        return await asyncio.gather(
            grouped.write(_add("a")), grouped.write(long), return_exceptions=True
        )

    a, refused = asyncio.run(main())
    assert a == "a"
    assert isinstance(refused, WriterBusy)
    assert _names(db) == ["a"]


@contextmanager
def _writer_held_elsewhere(db: Database, then: Callable[[], None]) -> Iterator[threading.Event]:
    """A thread holds the writer's lock in a write of "held" (``then`` runs once it commits)
    until the event given is set (or the block ends)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as conn:
            _add("held")(conn)
            after_commit(then)
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    try:
        yield release
    finally:
        release.set()
        thread.join()


def _refusals(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by each group's size whenever a flush finds the writer busy."""
    refusals: list[int] = []
    write_each = db.write_each

    def noted(group: Any) -> None:
        try:
            write_each(group)
        except WriterBusy:
            refusals.append(len(group))
            raise

    monkeypatch.setattr(db, "write_each", noted)
    return refusals


async def _until_refused(refusals: list[int]) -> None:
    """The loop's turns until a flush has tried the writer and been refused."""
    deadline = time.monotonic() + 10
    while not refusals:
        assert time.monotonic() < deadline, "the flush never tried the writer"
        await asyncio.sleep(0)


def test_a_batch_that_finds_the_writer_busy_runs_in_a_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    grouped = GroupedWrites(db)
    refusals = _refusals(db, monkeypatch)
    order: list[str] = []

    def waits(conn: Any) -> bool:
        after_commit(lambda: order.append("batch"))
        _add("batch")(conn)
        return db.may_wait()

    async def main(release: threading.Event) -> bool:
        task = asyncio.ensure_future(grouped.write(waits))
        await _until_refused(refusals)
        release.set()
        return await task

    with _writer_held_elsewhere(db, lambda: order.append("held")) as release:
        in_thread = asyncio.run(main(release))
    assert in_thread is True  # it ran where it may wait: a thread
    assert order == ["held", "batch"]
    assert _names(db) == ["batch", "held"]


def test_writes_awaited_while_a_batch_runs_in_a_thread_wait_for_it_then_share_the_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    grouped = GroupedWrites(db)
    commits = _commits(db)
    refusals = _refusals(db, monkeypatch)

    def where(name: str) -> Callable[[Any], str]:
        def work(conn: Any) -> str:
            _add(name)(conn)
            return "thread" if db.may_wait() else "loop"

        return work

    async def main(release: threading.Event) -> list[str]:
        first = asyncio.ensure_future(grouped.write(where("first")))
        await _until_refused(refusals)
        later = [asyncio.ensure_future(grouped.write(where(f"later{i}"))) for i in range(3)]
        for _ in range(20):  # turns enough for a flush of the later ones to try the writer
            await asyncio.sleep(0)
        release.set()
        return [await first] + [await task for task in later]

    with _writer_held_elsewhere(db, lambda: None) as release:
        ran = asyncio.run(main(release))
    assert ran == ["thread", "loop", "loop", "loop"]
    assert refusals == [1]  # only the first batch found the writer busy
    assert len(commits) == 3  # the held write, the first batch, the later three together
    assert _names(db) == ["first", "held", "later0", "later1", "later2"]


def test_postgresql_writes_each_alone_in_a_thread(postgres_url: str) -> None:
    db = open_database(postgres_url)
    try:
        grouped = GroupedWrites(db)
        assert not grouped.groups

        async def main() -> list[str]:
            return await asyncio.gather(grouped.write(_add("p1")), grouped.write(_add("p2")))

        assert asyncio.run(main()) == ["p1", "p2"]
        assert _names(db) == ["p1", "p2"]
        with pytest.raises(TypeError):
            db.write_each([])
    finally:
        db.dispose()
