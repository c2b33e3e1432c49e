"""Completions arriving together: two branches of a Parallel answered at the same moment from two
threads, on the real core, over SQLite and PostgreSQL. The execution's row lock serialises the
two transitions, so neither answer is lost and the history numbers stay contiguous."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import text

from dockyard.api.notifications import TopicConfig
from dockyard.api.pipelines import StartExecution, StateMachineConfig, StopExecution, TaskSuccess
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines import TaskRunner

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


def _waiting_on_a_lock(services: Services) -> bool:
    """Whether a session of the database waits for a lock (PostgreSQL; SQLite's writers queue
    on a lock of this process, which nothing outside it can see: True)."""
    if services.db.dialect != "postgresql":
        return True
    with services.db.read() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())


@pytest.mark.parametrize("how", ["start", "redrive"])
def test_an_execution_set_running_beside_a_delete_is_stopped_by_it(
    services: Services, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    nap = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    arn = services.pipelines.create(
        ROOT, StateMachineConfig(name="naps", definition=json.dumps(nap))
    ).arn
    pipelines = services.pipelines
    if how == "redrive":  # an aborted execution, set running again by the redrive
        aborted = pipelines.start(ROOT, arn, StartExecution(name="racing")).execution_arn
        pipelines.stop(ROOT, aborted, StopExecution())
    inside, go_on = threading.Event(), threading.Event()
    original = getattr(pipelines.engine, "begin" if how == "start" else "redrive")

    def held(*args: object, **kwargs: object) -> int:
        inside.set()  # the machine has been read, the transaction is open
        assert go_on.wait(30)
        return int(original(*args, **kwargs))

    monkeypatch.setattr(pipelines.engine, "begin" if how == "start" else "redrive", held)
    made: list[str] = []

    def run() -> None:
        if how == "start":
            made.append(pipelines.start(ROOT, arn, StartExecution(name="racing")).execution_arn)
        else:
            pipelines.redrive(ROOT, aborted)
            made.append(aborted)

    runner = threading.Thread(target=run)
    runner.start()
    assert inside.wait(30)
    deleter = threading.Thread(target=lambda: pipelines.delete(ROOT, arn))
    deleter.start()
    deadline = time.monotonic() + 30
    while deleter.is_alive() and not _waiting_on_a_lock(services):
        assert time.monotonic() < deadline, "the delete neither ended nor waited"
        time.sleep(0.01)
    go_on.set()
    runner.join(30)
    deleter.join(30)
    assert len(made) == 1
    with services.db.read() as conn:
        racing = pipelines.engine.repo.execution(conn, made[0])
    assert racing.status == "ABORTED"  # not left running where no ARN finds it
    assert ":deletedStateMachine:" in racing.state_machine_arn
