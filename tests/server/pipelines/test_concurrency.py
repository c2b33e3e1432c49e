"""Completions arriving together: two branches of a Parallel answered at the same moment from two
threads, on the real core, over SQLite and PostgreSQL. The execution's row lock serialises the
two transitions, so neither answer is lost and the history numbers stay contiguous."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.api.notifications import TopicConfig
from dockyard.api.pipelines import StartExecution, StateMachineConfig, TaskSuccess
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines import TaskRunner
from dockyard.settings import Settings

ROOT = Actor.local("root")


def ask(name: str) -> dict[str, object]:
    return {
        "StartAt": name,
        "States": {
            name: {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": "asks", "Message": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    made = Services.from_settings(Settings(home=tmp_path / "home", database_url=url))
    yield made
    made.close()


def test_two_answers_at_once_both_count(services: Services) -> None:
    services.notifications.create_topic(ROOT, TopicConfig(name="asks"))
    definition = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "Branches": [ask("A"), ask("B")], "End": True}},
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
    tokens = [e.body["message"]["token"] for e in services.events.read(types=["topic.asks"])]
    assert len(tokens) == 2
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(token: str, value: int) -> None:
        barrier.wait()
        try:
            request = TaskSuccess(task_token=token, output=json.dumps({"v": value}))
            services.pipelines.task_success(ROOT, request)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(t, i)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    found = services.pipelines.describe_execution(ROOT, execution)
    assert found.status.value == "SUCCEEDED"
    assert sorted(o["v"] for o in json.loads(found.output or "")) == [0, 1]
    events = services.pipelines.history(ROOT, execution, limit=1000).events
    assert [e.id for e in events] == list(range(1, len(events) + 1))
