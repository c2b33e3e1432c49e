"""The event log: appended with the change or not at all, in commit order, filtered, resumable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.events import EventLog
from dockyard.server.store import Database, open_database, schema

ALICE = Actor(ActorKind.USER, "alice", Role.MEMBER, user_id=1, source="10.0.0.7")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/e.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    database = open_database(url)
    with database.write() as conn:  # PostgreSQL is shared by the session: start from nothing
        conn.execute(schema.events.delete())
        conn.execute(schema.event_cursors.delete())
    yield database
    database.dispose()


def test_an_event_commits_with_its_change_or_not_at_all(db: Database) -> None:
    log = EventLog(db)
    with db.write() as conn:
        log.append(conn, ALICE, "run.created", "run", "r1", scope="experiment:1", body={"a": 1})
    with pytest.raises(RuntimeError), db.write() as conn:
        log.append(conn, ALICE, "run.created", "run", "r2", scope="experiment:1")
        raise RuntimeError("the change failed")
    events = log.read()
    assert [(e.type, e.resource_id, e.body) for e in events] == [("run.created", "r1", {"a": 1})]
    only = events[0]
    assert (only.actor, only.source, only.outcome) == ("alice", "10.0.0.7", "ok") and only.time > 0


def test_filters_prefixes_paging_and_visibility(db: Database) -> None:
    log = EventLog(db)
    for i, kind in enumerate(["job.submitted", "job.status_changed", "run.created", "auth.denied"]):
        log.record(ALICE, kind, kind.split(".")[0], f"x{i}", scope=f"experiment:{i % 2}")
    assert [e.type for e in log.read(types=["job.*"])] == ["job.submitted", "job.status_changed"]
    assert [e.resource_id for e in log.read(types=["run.created", "auth.*"])] == ["x2", "x3"]
    first = log.read(limit=2)
    rest = log.read(after=first[-1].id, limit=10)
    assert [e.resource_id for e in first + rest] == ["x0", "x1", "x2", "x3"]
    visible = log.read(visible=lambda scope, who: scope == "experiment:1", limit=1)
    assert [e.resource_id for e in visible] == ["x1"]
    assert log.read(actor="bob") == [] and len(log.read(actor="alice")) == 4


def test_bodies_stay_small(db: Database) -> None:
    log = EventLog(db)
    log.record(ALICE, "run.logged", "run", "r", scope="experiment:1", body={"k": "v" * 10_000})
    body = log.read()[0].body
    assert len(str(body)) < 4096 and body["k"].endswith("...")


def test_cursors_remember_where_a_consumer_was(db: Database) -> None:
    log = EventLog(db)
    assert log.position("webhooks") == 0
    with db.write() as conn:
        log.advance(conn, "webhooks", 41)
    with db.write() as conn:
        log.advance(conn, "webhooks", 42)
    assert log.position("webhooks") == 42 and log.position("triggers") == 0


def test_concurrent_writers_commit_ids_in_order(db: Database) -> None:
    """A reader that follows ids never skips an event committed late with a lower id."""
    log = EventLog(db)
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        after = 0
        while not stop.is_set() or after < 200:
            for event in log.read(after=after, limit=1000):
                seen.append(event.id)
                after = event.id
            if stop.is_set() and not log.read(after=after):
                break

    def writer(n: int) -> None:
        for i in range(50):
            with db.write() as conn:
                log.append(conn, ALICE, "run.logged", "run", f"{n}-{i}", scope="experiment:1")

    follow = threading.Thread(target=reader)
    follow.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    follow.join(60)
    assert len(seen) == 200 and seen == sorted(seen)


def test_listeners_are_told_the_type_once_the_append_commits(db: Database) -> None:
    log = EventLog(db)
    told: list[tuple[str, list[str]]] = []

    def listener(type: str) -> None:
        # What a woken reader would find: the append is already there.
        told.append((type, [e.type for e in log.read()]))

    log.on_append(listener)
    with db.write() as conn:
        log.append(conn, ALICE, "run.created", "run", "r1", scope="experiment:1")
        log.append(conn, ALICE, "run.logged", "run", "r1", scope="experiment:1")
        assert told == []  # not yet committed: nobody is woken to read nothing
    assert told == [
        ("run.created", ["run.created", "run.logged"]),
        ("run.logged", ["run.created", "run.logged"]),
    ]
    with pytest.raises(RuntimeError), db.write() as conn:
        log.append(conn, ALICE, "run.deleted", "run", "r1", scope="experiment:1")
        raise RuntimeError("the change failed")
    assert len(told) == 2  # a rolled-back append wakes nobody
    log.off_append(listener)
