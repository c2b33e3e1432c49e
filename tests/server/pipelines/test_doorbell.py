"""The doorbell between a server's processes: a ring reaches the process that listens (the
engine loop's leader), a process that listens does not ring itself, and the engine rings only
once its transition committed."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.server.pipelines.conftest import ROOT
from tests.server.pipelines.test_service import PUBLISH_TOKEN, machine, start

from dockyard.server._services import Services
from dockyard.server.pipelines import Doorbell
from dockyard.server.store import after_commit

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="abstract Unix sockets are Linux's"
)


def test_a_ring_in_one_process_wakes_the_listener(tmp_path: Path) -> None:
    leader, other = Doorbell(tmp_path, "sqlite:///x.db"), Doorbell(tmp_path, "sqlite:///x.db")
    rung = threading.Event()
    assert leader.listen(rung.set)
    try:
        other.ring()
        assert rung.wait(10)
        rung.clear()
        leader.ring()  # the leader's own loop was woken directly: no datagram
        other.ring()
        assert rung.wait(10)
    finally:
        leader.close()
        other.close()


def test_one_listener_per_server_and_close_frees_the_address(tmp_path: Path) -> None:
    first, second = Doorbell(tmp_path, "sqlite:///x.db"), Doorbell(tmp_path, "sqlite:///x.db")
    elsewhere = Doorbell(tmp_path, "sqlite:///y.db")  # another server: its own address
    assert first.listen(lambda: None)
    try:
        assert not second.listen(lambda: None)
        assert elsewhere.listen(lambda: None)
    finally:
        first.close()
        elsewhere.close()
    assert not first.listening
    assert second.listen(lambda: None)
    second.close()


def test_a_ring_nobody_hears_is_dropped(tmp_path: Path) -> None:
    bell = Doorbell(tmp_path, "sqlite:///x.db")
    bell.ring()  # no leader listening: the next pass of whichever leads finds the work
    bell.close()


def test_the_engine_signals_once_its_transition_committed(shell: Services) -> None:
    from dockyard.api.notifications import TopicConfig

    shell.notifications.create_topic(ROOT, TopicConfig(name="approvals", description=""))
    ask = {
        "Type": "Task",
        "Resource": PUBLISH_TOKEN,
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:0:approvals", "Message": "ok?"},
    }
    execution = start(shell, machine(shell, {"A": {**ask, "Next": "B"}, "B": {**ask, "End": True}}))
    engine = shell.pipelines.engine
    with shell.db.read() as conn:
        [task] = engine.repo.execution_tasks(conn, execution)
    engine.signalled = False
    engine.wake.clear()
    seen: list[tuple[bool, bool]] = []

    def completions(core: Any, conn: Any) -> list[Any]:
        assert engine.finish_task(conn, task.task_key)
        # Runs at the commit, before what the transition itself asked to run then.
        after_commit(lambda: seen.append((engine.signalled, engine.wake.is_set())))
        return [core.task_succeeded(task.task_id, {})]

    engine.feed(execution, completions)
    assert seen == [(False, False)]  # nothing woke the loop inside the transaction
    assert engine.signalled and engine.wake.is_set()  # B was scheduled: the loop acts now
