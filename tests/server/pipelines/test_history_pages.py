"""A page of an execution's history reads the chunks that hold its events, not more: on
PostgreSQL a statement sends every row it selects, and a transition of a Map fills its chunks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from dockyard.server.pipelines._repository import HISTORY_CHUNK, PipelineRepository
from dockyard.server.store import open_database

ARN = "arn:aws:states:us-east-1:123456789012:execution:m:e"


def test_a_page_reads_only_the_chunks_holding_its_events(postgres_url: str) -> None:
    db = open_database(postgres_url)
    repo = PipelineRepository()
    steps = 10  # each a transition that wrote a full chunk: events 1..1000
    with db.write() as conn:
        for step in range(steps):
            first = step * HISTORY_CHUNK + 1
            events = [("PassStateEntered", 1000, {"i": first + i}, None) for i in range(100)]
            repo.add_history(conn, ARN, first, events)
    sent: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(cursor.rowcount)  # what the server sent for the statement

    with db.read() as conn:
        event.listen(conn, "after_cursor_execute", count)
        pages = {
            "first": repo.history(conn, ARN, 0, 11, False),
            "middle": repo.history(conn, ARN, 150, 11, False),
            "across": repo.history(conn, ARN, 195, 11, False),
            "newest": repo.history(conn, ARN, 0, 11, True),
            "older": repo.history(conn, ARN, 850, 11, True),
        }
    db.dispose()
    assert [e.event_id for e in pages["first"]] == list(range(1, 12))
    assert [e.event_id for e in pages["middle"]] == list(range(151, 162))
    assert [e.event_id for e in pages["across"]] == list(range(196, 207))
    assert [e.event_id for e in pages["newest"]] == list(range(1000, 989, -1))
    assert [e.event_id for e in pages["older"]] == list(range(849, 838, -1))
    assert pages["first"][0].details == {"i": 1}
    assert sent == [1, 1, 2, 1, 1]  # the page across two chunks reads both
