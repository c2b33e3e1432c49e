"""The stored ``previousEventId`` of each history event, on the real core, over SQLite and
PostgreSQL: the event that led to it, which interleaved Parallel branches make differ from the
event just before it; it survives the snapshot written and read back between transitions."""

from __future__ import annotations

import json

from dockyard.api.notifications import TopicConfig
from dockyard.api.pipelines import StartExecution, StateMachineConfig, TaskSuccess
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines import TaskRunner

ROOT = Actor.local("root")


def ask_then_pass(name: str) -> dict[str, object]:
    """A branch: a Task that waits for its token (published on the topic "asks"), then a Pass."""
    return {
        "StartAt": name,
        "States": {
            name: {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {
                    "TopicArn": "asks",
                    "Message": {"branch": name, "token.$": "$$.Task.Token"},
                },
                "Next": f"{name}Done",
            },
            f"{name}Done": {"Type": "Pass", "End": True},
        },
    }


def test_branches_answered_out_of_order_keep_their_own_links(services: Services) -> None:
    services.notifications.create_topic(ROOT, TopicConfig(name="asks"))
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [ask_then_pass("A"), ask_then_pass("B")],
                "End": True,
            }
        },
    }
    arn = services.pipelines.create(
        ROOT, StateMachineConfig(name="both", definition=json.dumps(definition))
    ).arn
    execution = services.pipelines.start(ROOT, arn, StartExecution(name="e")).execution_arn
    runner = TaskRunner(
        services.db, services.pipelines.engine, services.pipelines.integrations, lambda r: ROOT
    )
    try:
        assert runner.start_scheduled() == 2
    finally:
        runner.close()
    tokens = {
        e.body["message"]["branch"]: e.body["message"]["token"]
        for e in services.events.read(types=["topic.asks"])
    }
    for branch in ("B", "A"):  # each answer is a transition of its own
        request = TaskSuccess(task_token=tokens[branch], output=json.dumps({"v": branch}))
        services.pipelines.task_success(ROOT, request)
    found = services.pipelines.describe_execution(ROOT, execution)
    assert found.status.value == "SUCCEEDED"
    events = services.pipelines.history(ROOT, execution, limit=1000).events
    assert [(e.id, e.previous_event_id, e.type) for e in events] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "TaskStateEntered"),  # A
        (5, 4, "TaskScheduled"),
        (6, 5, "TaskStarted"),
        (7, 3, "TaskStateEntered"),  # B
        (8, 7, "TaskScheduled"),
        (9, 8, "TaskStarted"),
        (10, 9, "TaskSucceeded"),  # B answered first
        (11, 10, "TaskStateExited"),
        (12, 11, "PassStateEntered"),
        (13, 12, "PassStateExited"),
        (14, 6, "TaskSucceeded"),  # then A: it follows A's TaskStarted, not B's last event
        (15, 14, "TaskStateExited"),
        (16, 15, "PassStateEntered"),
        (17, 16, "PassStateExited"),
        (18, 17, "ParallelStateSucceeded"),
        (19, 17, "ParallelStateExited"),
        (20, 19, "ExecutionSucceeded"),
    ]
    # newest first reads the same links
    newest = services.pipelines.history(ROOT, execution, limit=1000, reverse=True).events
    assert [(e.id, e.previous_event_id) for e in newest] == [
        (e.id, e.previous_event_id) for e in reversed(events)
    ]
