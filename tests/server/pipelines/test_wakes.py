"""A transition that leaves work wakes the engine loop once it committed, in whichever of the
server's processes the loop leads (told through the event log's peers)."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from tests.server.pipelines.conftest import ROOT
from tests.server.pipelines.test_service import PUBLISH_TOKEN, machine, start

from dockyard.server._services import Services
from dockyard.server.events import EventLog, Peers
from dockyard.server.pipelines import WORK
from dockyard.server.store import after_commit


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract Unix sockets")
def test_work_recorded_in_one_process_wakes_the_others(shell: Services) -> None:
    url = shell.db.url
    there = EventLog(shell.db)  # another process's log over the same database
    heard: list[str] = []
    woken = threading.Event()

    def listener(type: str) -> None:
        heard.append(type)
        woken.set()

    there.on_append(listener)
    here_peers, there_peers = Peers(url, shell.events.notify), Peers(url, there.notify)
    shell.events.wake_peers(here_peers)
    try:
        shell.pipelines.engine.signal()
        assert woken.wait(10)
        assert heard == [WORK]
    finally:
        shell.events.wake_peers(None)
        here_peers.stop()
        there_peers.stop()
