"""Background loops: one leader per database, reconcile on taking the lead, prompt wake-ups,
and event consumers that go on from a durable cursor."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from dockyard.errors import Unavailable
from dockyard.server.actor import Actor
from dockyard.server.events import Event, EventLog
from dockyard.server.loops import BackgroundLoop, EventConsumer
from dockyard.server.store import Database, open_database

_ACTOR = Actor.system("test")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/loops.db")
    yield database
    database.dispose()


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.01)


class Counting(BackgroundLoop):
    name = "counting"
    interval_s = 60.0  # only a wake-up makes it tick again within a test
    follow_s = 0.05

    def __init__(self, db: Database, home: Path, *, fail: bool = False) -> None:
        super().__init__(db, home)
        self.reconciled = threading.Event()
        self.ticks = 0
        self.fail = fail

    def reconcile(self) -> None:
        self.reconciled.set()

    def tick(self) -> float | None:
        self.ticks += 1
        if self.fail:
            raise RuntimeError("a bad pass")
        return None


def test_one_loop_leads_and_a_follower_takes_over(db: Database, tmp_path: Path) -> None:
    first, second = Counting(db, tmp_path), Counting(db, tmp_path)
    first.start()
    _until(first.reconciled.is_set)
    second.start()
    # Several of the follower's attempts (every follow_s): none may succeed while first leads.
    time.sleep(0.3)
    assert first.is_leader and not second.is_leader
    assert not second.reconciled.is_set() and second.ticks == 0
    first.stop()
    _until(second.reconciled.is_set)
    assert second.is_leader and second.ticks >= 1
    second.stop()


def test_a_wake_up_makes_the_loop_tick_at_once(db: Database, tmp_path: Path) -> None:
    loop = Counting(db, tmp_path)
    loop.start()
    _until(lambda: loop.ticks == 1)
    for expected in (2, 3):
        loop.wake()
        _until(lambda n=expected: loop.ticks == n, timeout=5)  # far less than interval_s
    loop.stop()


def test_a_failing_pass_does_not_end_the_loop(db: Database, tmp_path: Path) -> None:
    loop = Counting(db, tmp_path, fail=True)
    loop.start()
    _until(lambda: loop.ticks == 1)
    loop.wake()
    _until(lambda: loop.ticks == 2)
    loop.stop()
    assert not loop.is_leader


class Unreachable(Counting):
    name = "unreachable"

    def tick(self) -> float | None:
        self.ticks += 1
        raise Unavailable("metadata database unavailable: connection refused\n\tIs it running?")


def test_a_pass_that_finds_the_database_away_is_one_line(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop = Unreachable(db, tmp_path)
    loop.start()
    _until(lambda: loop.ticks == 1)
    loop.stop()
    failed = [r for r in caplog.records if "a pass failed" in r.getMessage()]
    assert [(r.levelname, r.exc_info, r.getMessage()) for r in failed] == [
        (
            "WARNING",
            None,
            "unreachable: a pass failed: metadata database unavailable: connection refused "
            "Is it running?",
        )
    ]


class Collecting(EventConsumer):
    name = "collector"
    types: ClassVar[tuple[str, ...]] = ("job.*",)
    interval_s = 60.0
    follow_s = 0.05
    batch = 2

    def __init__(self, db: Database, home: Path, events: EventLog) -> None:
        super().__init__(db, home, events)
        self.seen: list[str] = []
        self.refuse = False
        self.refused = 0

    def handle(self, events: list[Event]) -> None:
        if self.refuse:
            self.refused += 1
            raise RuntimeError("not now")
        self.seen += [e.resource_id for e in events]


def test_a_consumer_goes_on_from_its_cursor(db: Database, tmp_path: Path) -> None:
    log = EventLog(db)
    for i in range(3):
        log.record(_ACTOR, "job.submitted", "job", f"j{i}", scope="jobs")
    log.record(_ACTOR, "run.created", "run", "r0", scope="jobs")  # not consumed
    consumer = Collecting(db, tmp_path, log)
    consumer.start()
    # Three events in batches of two: a full batch asks for the next pass at once.
    _until(lambda: consumer.seen == ["j0", "j1", "j2"])
    log.record(_ACTOR, "job.status_changed", "job", "j3", scope="jobs")  # the append wakes it
    _until(lambda: consumer.seen[-1:] == ["j3"], timeout=5)
    consumer.stop()

    log.record(_ACTOR, "job.status_changed", "job", "j4", scope="jobs")
    after = Collecting(db, tmp_path, log)
    after.start()
    _until(lambda: after.seen == ["j4"])  # from the cursor: nothing handled twice
    after.refuse = True
    log.record(_ACTOR, "job.status_changed", "job", "j5", scope="jobs")
    _until(lambda: after.refused == 1)  # the append woke it; the pass failed
    assert after.seen == ["j4"]
    after.refuse = False
    after.wake()
    _until(lambda: after.seen == ["j4", "j5"])  # what a failed pass left is handled next
    after.stop()
    assert log.position("collector") == log.latest_id()


def test_only_appends_of_its_types_wake_a_consumer(db: Database, tmp_path: Path) -> None:
    consumer = Collecting(db, tmp_path, EventLog(db))
    assert consumer.wants("job.status_changed")
    assert not consumer.wants("run.logged")  # skipped over by its passes: no pass for it


class Settling(Counting):
    settle_s = 1.0  # far longer than the wake-ups below take to make

    def __init__(self, db: Database, home: Path) -> None:
        super().__init__(db, home)
        self.started: list[float] = []

    def tick(self) -> float | None:
        self.started.append(time.monotonic())
        return super().tick()


def test_a_stream_of_wake_ups_makes_one_pass_per_settle_time(db: Database, tmp_path: Path) -> None:
    loop = Settling(db, tmp_path)
    loop.start()
    _until(lambda: loop.ticks == 1)
    woke = time.monotonic()
    loop.wake()  # after a quiet spell: a pass at once
    _until(lambda: loop.ticks == 2)
    for _ in range(50):  # soon after that pass: they wait out settle_s, and share one pass
        loop.wake()
    _until(lambda: loop.ticks == 3)
    loop.stop()
    assert loop.ticks == 3
    _, second, third = loop.started
    assert second - woke < loop.settle_s * 0.9 <= third - second


class Lagging(Collecting):
    save_s = 3600.0  # only stopping writes the cursor within a test


def test_a_consumer_writes_its_cursor_when_it_stops(db: Database, tmp_path: Path) -> None:
    log = EventLog(db)
    log.record(_ACTOR, "job.submitted", "job", "j0", scope="jobs")
    consumer = Lagging(db, tmp_path, log)
    consumer.start()
    _until(lambda: consumer.seen == ["j0"])
    log.record(_ACTOR, "job.submitted", "job", "j1", scope="jobs")
    _until(lambda: consumer.seen == ["j0", "j1"])
    # Read in memory, not yet in the database: a crash now would hand both out again.
    assert log.position("collector") == 0
    consumer.stop()
    assert log.position("collector") == log.latest_id()


class Polling(Collecting):
    interval_s = 0.05
    save_s = 0.2


def test_a_consumer_writes_its_cursor_within_save_s(db: Database, tmp_path: Path) -> None:
    log = EventLog(db)
    consumer = Polling(db, tmp_path, log)
    consumer.start()
    log.record(_ACTOR, "job.submitted", "job", "j0", scope="jobs")
    log.record(_ACTOR, "job.submitted", "job", "j1", scope="jobs")
    _until(lambda: consumer.seen == ["j0", "j1"])
    # No more events: a later idle pass writes it, with the consumer still running.
    _until(lambda: log.position("collector") == log.latest_id(), timeout=5)
    assert consumer.is_leader
    consumer.stop()


def test_wake_ups_do_not_settle_after_a_pass_that_did_work(db: Database, tmp_path: Path) -> None:
    loop = Settling(db, tmp_path)
    loop.settling = False  # as a pass that queued something for someone leaves it
    loop.start()
    _until(lambda: loop.ticks == 1)
    loop.wake()
    _until(lambda: loop.ticks == 2)
    loop.wake()  # soon after a woken pass, yet served at once
    _until(lambda: loop.ticks == 3)
    loop.stop()
    _, second, third = loop.started
    assert third - second < loop.settle_s * 0.9


class Matching(EventConsumer):
    """A consumer of every event that matches them against rules of its own, as the
    notification fan-out and the event triggers do."""

    name = "matching"
    types: ClassVar[tuple[str, ...]] = ()
    follows = "rule."
    interval_s = 60.0

    def __init__(self, db: Database, home: Path, events: EventLog) -> None:
        super().__init__(db, home, events)
        self.rules: list[str] = []
        self.handed: list[list[str]] = []

    def handle(self, events: list[Event]) -> None:
        self.handed.append([e.type for e in events])
        self.patterns = list(self.rules)


def test_a_consumer_with_no_patterns_reads_only_their_changes(db: Database, tmp_path: Path) -> None:
    log = EventLog(db)
    consumer = Matching(db, tmp_path, log)
    log.record(_ACTOR, "run.logged", "run", "r0", scope="s")
    consumer.tick()  # its patterns are not known yet: it reads everything once
    assert consumer.handed == [["run.logged"]]
    assert consumer.patterns == []
    for i in range(3):
        log.record(_ACTOR, "run.logged", "run", f"r{i + 1}", scope="s")
    consumer.tick()
    assert consumer.handed == [["run.logged"]]  # nothing wants them: none read
    assert consumer.position() == log.latest_id()  # stepped over all the same

    consumer.rules = ["run.*"]
    log.record(_ACTOR, "rule.created", "rule", "x", scope="s")
    log.record(_ACTOR, "run.logged", "run", "r9", scope="s")
    consumer.tick()
    assert consumer.handed[-1] == ["rule.created"]  # the change, and the cursor stops there
    consumer.tick()
    assert consumer.handed[-1] == ["run.logged"]  # what followed it, under the new rules
    assert consumer.position() == log.latest_id()


def test_a_follower_waits_out_a_database_it_cannot_reach(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = Database(f"postgresql+psycopg://dockyard@127.0.0.1:{port}/dockyard")
    loop = Counting(unreachable, tmp_path)
    caplog.set_level("WARNING", logger="dockyard.server.loops")
    loop.start()
    try:
        _until(lambda: sum("cannot take the lead yet" in r.message for r in caplog.records) >= 2)
        assert loop._thread.is_alive() and not loop.is_leader
    finally:
        loop.stop()
        unreachable.dispose()


def test_a_leader_whose_database_session_ended_steps_down(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.services.postgres import end_advisory_lock_holders

    first_db, second_db = open_database(postgres_url), open_database(postgres_url)
    first, second = Counting(first_db, tmp_path / "a"), Counting(second_db, tmp_path / "b")
    first.start()
    _until(first.reconciled.is_set)
    second.start()
    try:
        end_advisory_lock_holders(postgres_url)
        # One leader again: the follower takes the lead, the old leader follows.
        _until(second.reconciled.is_set)
        first.wake()
        _until(lambda: not first.is_leader)
        assert second.is_leader
    finally:
        first.stop()
        second.stop()
        first_db.dispose()
        second_db.dispose()
