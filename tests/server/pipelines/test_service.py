"""The engine's rules on the stand-in core: one transaction per transition, tasks claimed once,
timers, callbacks and heartbeats, stop and redrive, definitions checked at create time."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event, select
from tests.server.pipelines.conftest import ROOT, Clock

from dockyard.api.params import PutParameter
from dockyard.api.pipelines import (
    StartExecution,
    StateMachineConfig,
    StateMachineUpdate,
    StopExecution,
    TaskFailure,
    TaskHeartbeat,
    TaskSuccess,
)
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import CreateUser
from dockyard.server.pipelines import TaskRunner
from dockyard.server.pipelines._repository import HISTORY_CHUNK
from dockyard.server.store import schema

GET = "arn:aws:states:::aws-sdk:ssm:getParameter"
PUBLISH_TOKEN = "arn:aws:states:::sns:publish.waitForTaskToken"


def machine(shell: Services, states: dict[str, Any], name: str = "m") -> str:
    definition = json.dumps({"StartAt": next(iter(states)), "States": states})
    return shell.pipelines.create(ROOT, StateMachineConfig(name=name, definition=definition)).arn


def start(shell: Services, arn: str, input: Any = None, name: str = "e1") -> str:
    request = StartExecution(name=name, input=json.dumps(input or {}))
    return shell.pipelines.start(ROOT, arn, request).execution_arn


def status(shell: Services, arn: str) -> str:
    return shell.pipelines.describe_execution(ROOT, arn).status.value


def test_unknown_resource_is_refused_naming_the_state(shell: Services) -> None:
    with pytest.raises(InvalidArgument) as refused:
        machine(shell, {"Train": {"Type": "Task", "Resource": "dockyard:nope", "End": True}})
    assert "'Train'" in refused.value.message
    assert "dockyard:nope" in refused.value.message
    assert getattr(refused.value, "aws", "") == "InvalidDefinition"


def test_unknown_function_is_refused_naming_the_state_and_the_registered_ones(
    shell: Services,
) -> None:
    with pytest.raises(InvalidArgument, match=r"'Score'.*'score'.*registered: block, double, note"):
        machine(
            shell, {"Score": {"Type": "Task", "Resource": "dockyard:function:score", "End": True}}
        )


def test_a_task_runs_and_its_output_ends_the_execution(shell: Services, runner: TaskRunner) -> None:
    shell.params.put(ROOT, PutParameter(name="/m/threshold", value="0.7"))
    arn = machine(
        shell,
        {
            "Read": {
                "Type": "Task",
                "Resource": GET,
                "Parameters": {"Name": "/m/threshold"},
                "End": True,
            }
        },
    )
    execution = start(shell, arn)
    assert status(shell, execution) == "RUNNING"
    assert runner.start_scheduled() == 1
    assert runner.start_scheduled() == 0  # started once
    found = shell.pipelines.describe_execution(ROOT, execution)
    assert found.status.value == "SUCCEEDED"
    assert json.loads(found.output or "")["Parameter"]["Value"] == "0.7"
    events = shell.pipelines.history(ROOT, execution).events
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert [e.previous_event_id for e in events] == list(range(len(events)))
    assert events[0].type == "ExecutionStarted" and events[-1].type == "ExecutionSucceeded"
    types = [e.type for e in shell.events.read(types=["pipeline.*"])]
    assert types[-2:] == ["pipeline.execution.started", "pipeline.execution.succeeded"]


def test_a_task_key_is_claimed_once(shell: Services) -> None:
    repo = shell.pipelines.engine.repo
    row = {
        "task_key": "arn:x:T#1",
        "execution_arn": "arn:x",
        "task_id": "T#1",
        "state_name": "T",
        "resource": GET,
        "payload": "{}",
        "status": "scheduled",
        "created_time": 1,
    }
    with shell.db.write() as conn:
        assert repo.claim_task(conn, row)
        assert not repo.claim_task(conn, {**row, "status": "started"})
        assert repo.task(conn, "arn:x:T#1").status == "scheduled"


def callback_machine(shell: Services, heartbeat: int | None = None) -> str:
    topic = {"name": "approvals", "description": ""}
    from dockyard.api.notifications import TopicConfig

    shell.notifications.create_topic(ROOT, TopicConfig(**topic))
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": PUBLISH_TOKEN,
        "Parameters": {
            "TopicArn": "arn:aws:sns:us-east-1:0:approvals",
            "Message": {"token": "$$.Task.Token"},
        },
        "Next": "Done",
    }
    if heartbeat:
        task["HeartbeatSeconds"] = heartbeat
    return machine(shell, {"Ask": task, "Done": {"Type": "Succeed"}})


def token_of(shell: Services, execution: str) -> str:
    with shell.db.read() as conn:
        rows = conn.execute(schema.pipeline_tasks.select()).all()
    [row] = [r for r in rows if r.execution_arn == execution]
    assert row.task_token
    return str(row.task_token)


def test_task_token_round_trip_and_a_second_answer_is_refused(
    shell: Services, runner: TaskRunner
) -> None:
    execution = start(shell, callback_machine(shell))
    runner.start_scheduled()
    assert status(shell, execution) == "RUNNING"  # published; waits for the callback
    published = shell.events.read(types=["topic.approvals"])
    token = token_of(shell, execution)
    assert published[0].body["message"] == {"token": token}
    # A read-only credential answers no task, even one that read the token where it was sent.
    reader = Actor(ActorKind.USER, "root", Role.ADMIN, read_only=True)
    for answer in (
        lambda: shell.pipelines.task_success(reader, TaskSuccess(task_token=token, output="{}")),
        lambda: shell.pipelines.task_failure(reader, TaskFailure(task_token=token, error="No")),
        lambda: shell.pipelines.task_heartbeat(reader, TaskHeartbeat(task_token=token)),
    ):
        with pytest.raises(PermissionDenied, match="read-only"):
            answer()
    assert status(shell, execution) == "RUNNING"
    shell.pipelines.task_success(ROOT, TaskSuccess(task_token=token, output='{"ok": true}'))
    found = shell.pipelines.describe_execution(ROOT, execution)
    assert found.status.value == "SUCCEEDED" and json.loads(found.output or "") == {"ok": True}
    answered = shell.events.read(types=["pipeline.task.*"])
    assert [(e.type, e.body["state"]) for e in answered] == [("pipeline.task.succeeded", "Ask")]
    with pytest.raises(NotFound) as again:
        shell.pipelines.task_failure(ROOT, TaskFailure(task_token=token, error="Late"))
    assert getattr(again.value, "aws", "") == "TaskDoesNotExist"


def test_a_missed_heartbeat_fails_the_task(
    shell: Services, runner: TaskRunner, clock: Clock
) -> None:
    execution = start(shell, callback_machine(shell, heartbeat=10))
    runner.start_scheduled()
    token = token_of(shell, execution)
    clock.now += 8_000
    shell.pipelines.task_heartbeat(ROOT, TaskHeartbeat(task_token=token))
    clock.now += 8_000  # 16 s after the start, 8 s after the heartbeat
    runner.expire_heartbeats()
    assert status(shell, execution) == "RUNNING"
    clock.now += 3_000
    runner.expire_heartbeats()
    found = shell.pipelines.describe_execution(ROOT, execution)
    assert (found.status.value, found.error) == ("FAILED", "States.HeartbeatTimeout")


def test_a_wait_fires_when_due(shell: Services, runner: TaskRunner, clock: Clock) -> None:
    arn = machine(
        shell, {"Nap": {"Type": "Wait", "Seconds": 30, "Next": "Done"}, "Done": {"Type": "Succeed"}}
    )
    execution = start(shell, arn)
    assert runner.next_due() == clock.now + 30_000
    clock.now += 29_999
    runner.fire_timers()
    assert status(shell, execution) == "RUNNING"
    clock.now += 1
    runner.fire_timers()
    assert status(shell, execution) == "SUCCEEDED"
    assert runner.next_due() is None


def test_stop_aborts_and_drops_timers(shell: Services, runner: TaskRunner) -> None:
    arn = machine(shell, {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}})
    execution = start(shell, arn)
    stopped = shell.pipelines.stop(ROOT, execution, StopExecution(error="Bored", cause="enough"))
    assert (stopped.status.value, stopped.error, stopped.cause) == ("ABORTED", "Bored", "enough")
    assert stopped.stop_time is not None
    assert runner.next_due() is None
    assert [e.type for e in shell.events.read(types=["pipeline.execution.aborted"])]


def test_redrive_runs_the_failed_state_again(shell: Services, runner: TaskRunner) -> None:
    arn = machine(
        shell,
        {"Read": {"Type": "Task", "Resource": GET, "Parameters": {"Name": "/late"}, "End": True}},
    )
    execution = start(shell, arn)
    runner.start_scheduled()
    failed = shell.pipelines.describe_execution(ROOT, execution)
    assert (failed.status.value, failed.error) == ("FAILED", "Ssm.ParameterNotFoundException")
    shell.params.put(ROOT, PutParameter(name="/late", value="here"))
    shell.pipelines.redrive(ROOT, execution)
    runner.start_scheduled()
    found = shell.pipelines.describe_execution(ROOT, execution)
    assert (found.status.value, found.redrive_count) == ("SUCCEEDED", 1)
    with pytest.raises(Exception, match="only a failed"):
        shell.pipelines.redrive(ROOT, execution)


def test_a_machine_created_again_under_a_deleted_ones_name_has_none_of_its_executions(
    shell: Services,
) -> None:
    nap = {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}}
    arn = machine(shell, nap)
    napping = start(shell, arn, {"password": "hunter2"}, name="nightly")
    shell.pipelines.delete(ROOT, arn)
    with pytest.raises(NotFound) as gone:
        shell.pipelines.describe_execution(ROOT, napping)
    assert getattr(gone.value, "aws", "") == "ExecutionDoesNotExist"
    with shell.db.read() as conn:
        kept = conn.execute(
            select(schema.pipeline_executions).where(schema.pipeline_executions.c.arn == napping)
        ).one()
        timers = conn.execute(
            select(schema.pipeline_timers).where(schema.pipeline_timers.c.execution_arn == napping)
        ).all()
    assert (kept.status, kept.error) == ("ABORTED", "States.Aborted")  # stopped, then kept
    assert ":deletedStateMachine:m" in kept.state_machine_arn and timers == []
    assert machine(shell, nap) == arn
    assert shell.pipelines.list_executions(ROOT, arn).executions == []
    for read in (
        shell.pipelines.describe_execution,
        shell.pipelines.history,
        shell.pipelines.machine_for_execution,
        shell.pipelines.redrive,
    ):
        with pytest.raises(NotFound) as gone:
            read(ROOT, napping)
        assert getattr(gone.value, "aws", "") == "ExecutionDoesNotExist", read
    # its name stays taken (as on AWS, for 90 days): a new execution of that name would meet
    # the work the old one started under names derived from it
    with pytest.raises(AlreadyExists):
        start(shell, arn, {}, name="nightly")
    assert status(shell, start(shell, arn, {}, name="tonight")) == "RUNNING"


def test_the_same_create_again_is_no_error_for_its_creator_only(shell: Services) -> None:
    def member(name: str) -> Actor:
        shell.auth.create_user(ROOT, CreateUser(name=name, role=Role.MEMBER))
        with shell.db.read() as conn:
            row = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
        return Actor(ActorKind.USER, name, Role.MEMBER, user_id=int(row.user_id))

    shell.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))  # accounts: on
    ana, bob = member("ana"), member("bob")
    config = StateMachineConfig(
        name="shared", definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}})
    )
    made = shell.pipelines.create(ana, config)
    assert shell.pipelines.create(ana, config) == made
    with pytest.raises(AlreadyExists) as taken:
        shell.pipelines.create(bob, config)
    assert getattr(taken.value, "aws", "") == "StateMachineAlreadyExists"


def test_a_members_pages_hold_only_its_machines_and_are_never_empty(shell: Services) -> None:
    shell.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))  # accounts: on
    for name in ("ana", "bob"):
        shell.auth.create_user(ROOT, CreateUser(name=name, role=Role.MEMBER))
    with shell.db.read() as conn:
        ids = dict(conn.execute(select(schema.users.c.name, schema.users.c.user_id)).all())
    ana, bob = (Actor(ActorKind.USER, n, Role.MEMBER, user_id=int(ids[n])) for n in ("ana", "bob"))
    definition = json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}})
    for name in ("a1", "b1", "b2", "b3", "a2"):  # bob's sort between ana's
        owner = ana if name.startswith("a") else bob
        shell.pipelines.create(owner, StateMachineConfig(name=name, definition=definition))
    first = shell.pipelines.list(ana, limit=1)
    assert [m.name for m in first.state_machines] == ["a1"]
    second = shell.pipelines.list(ana, next_token=first.next_token, limit=1)
    assert [m.name for m in second.state_machines] == ["a2"] and second.next_token is None
    assert len(shell.pipelines.list(ROOT).state_machines) == 5
    # A read-only credential of ana's reads what ana may, and runs none of it.
    viewer = Actor(ActorKind.USER, "ana", Role.MEMBER, user_id=int(ids["ana"]), read_only=True)
    assert [m.name for m in shell.pipelines.list(viewer).state_machines] == ["a1", "a2"]
    a1 = first.state_machines[0].arn
    assert shell.pipelines.describe(viewer, a1).name == "a1"
    started = shell.pipelines.start(ana, a1, StartExecution(name="once"))
    assert shell.pipelines.describe_execution(viewer, started.execution_arn).name == "once"
    assert [e.name for e in shell.pipelines.list_executions(viewer, a1).executions] == ["once"]
    # refused for what it is, not as if ana were not the creator of her own pipeline
    with pytest.raises(PermissionDenied) as refused:
        shell.pipelines.start(viewer, a1, StartExecution(name="twice"))
    assert "read-only" in refused.value.message
    assert "creator's" not in refused.value.message
    b1 = shell.pipelines.list(bob).state_machines[0].arn
    with pytest.raises(PermissionDenied) as others:
        shell.pipelines.describe(viewer, b1)
    assert "creator's" in others.value.message


def test_the_same_start_again_is_the_same_execution_and_another_input_conflicts(
    shell: Services,
) -> None:
    arn = machine(shell, {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}})
    first = start(shell, arn, {"a": 1})
    assert start(shell, arn, {"a": 1}) == first
    with pytest.raises(AlreadyExists) as conflict:
        start(shell, arn, {"a": 2})
    assert getattr(conflict.value, "aws", "") == "ExecutionAlreadyExists"


def test_a_function_runs_in_its_own_process(shell: Services, runner: TaskRunner) -> None:
    from dockyard.server.pipelines._task_functions import FunctionTask
    from dockyard.server.pipelines._tasks import Failed, Succeeded

    functions = FunctionTask(shell.settings)
    assert functions.invoke("double", {"value": 21}, "k") == Succeeded({"value": 42})
    settings = shell.settings.model_copy(
        update={
            "pipeline_functions": {
                "fail": "tests.server.pipelines._functions:fail",
                "leak": "tests.server.pipelines._functions:leak",
            },
            "pipeline_function_memory_mb": 256,
        }
    )
    limited = FunctionTask(settings)
    failed = limited.invoke("fail", [1], "k")
    assert isinstance(failed, Failed) and failed.error == "ValueError"
    assert json.loads(failed.cause or "")["errorMessage"] == "refused [1]"
    leaked = limited.invoke("leak", {"mb": 512}, "k")
    assert isinstance(leaked, Failed) and leaked.error == "MemoryError"


def test_a_function_sees_none_of_the_servers_settings(
    shell: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockyard.server.pipelines._task_functions import FunctionTask
    from dockyard.server.pipelines._tasks import Succeeded

    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "postgresql://user:secret@db/dockyard")
    monkeypatch.setenv("DOCKYARD_TOKEN", "dyt_secret")
    settings = shell.settings.model_copy(
        update={"pipeline_functions": {"env": "tests.server.pipelines._functions:environment"}}
    )
    seen = FunctionTask(settings).invoke("env", {}, "arn:x:T#1")
    assert seen == Succeeded({"DOCKYARD_FUNCTION_NAME": "env", "DOCKYARD_TASK_KEY": "arn:x:T#1"})


def test_a_task_answered_while_it_starts_stays_answered(
    shell: Services, runner: TaskRunner
) -> None:
    execution = start(shell, callback_machine(shell))
    with shell.db.read() as conn:
        [task] = shell.pipelines.engine.repo.tasks(conn, "scheduled")
    assert task.task_token
    shell.pipelines.task_success(ROOT, TaskSuccess(task_token=task.task_token, output="{}"))
    runner.start(task)  # the runner had read the row just before the answer came
    with shell.db.read() as conn:
        assert shell.pipelines.engine.repo.task(conn, task.task_key).status == "done"
    assert status(shell, execution) == "SUCCEEDED"


def test_stopping_an_execution_kills_its_function_call(
    shell: Services, runner: TaskRunner, tmp_path: Path
) -> None:
    from tests.server.notifications._receiver import until

    pid_file = tmp_path / "pid"
    task = {
        "Type": "Task",
        "Resource": "dockyard:function:block",
        "Parameters": {"pid": str(pid_file)},
        "End": True,
    }
    execution = start(shell, machine(shell, {"Block": task}))
    runner.start_scheduled()
    until(lambda: pid_file.exists() and pid_file.read_text(), 30, "the function starting")
    pid = int(pid_file.read_text())
    shell.pipelines.stop(ROOT, execution, StopExecution(cause="enough"))
    runner.stop_cancelled()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    until(gone, 30, "the function's process ending")
    assert status(shell, execution) == "ABORTED"
    with shell.db.read() as conn:
        [row] = shell.pipelines.engine.repo.execution_tasks(conn, execution)
    assert row.status == "cancelled"


def test_validation_keeps_the_rules_codes_on_the_real_core() -> None:
    from dockyard.server.pipelines import load_core
    from dockyard.server.pipelines._definitions import validation
    from dockyard.server.pipelines._tasks import Integrations

    found = validation(load_core(), Integrations(), '{"StartAt": "X", "States": {}}')

    assert found.result == "FAIL"
    first = found.diagnostics[0]
    assert (first.code, first.location, first.severity) == (
        "MISSING_TRANSITION_TARGET",
        "/StartAt",
        "ERROR",
    )


def test_a_map_reading_its_items_from_s3_is_refused_naming_the_state(shell: Services) -> None:
    """ItemReader cannot run here: the machine is refused when created, not each run."""
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key": "k"},
    }
    inner = {"StartAt": "Each", "States": {"Each": {"Type": "Pass", "End": True}}}
    states = {"Fan": {"Type": "Map", "ItemReader": reader, "ItemProcessor": inner, "End": True}}
    with pytest.raises(InvalidArgument) as refused:
        machine(shell, states)
    assert "/States/Fan/ItemReader" in refused.value.message
    assert "'Fan'" in refused.value.message and "ItemReader" in refused.value.message
    assert getattr(refused.value, "aws", "") == "InvalidDefinition"


@pytest.mark.parametrize(
    ("resource", "parameters", "missing"),
    [
        ("arn:aws:states:::sns:publish", {"Message": "m"}, "TopicArn or Topic"),
        ("arn:aws:states:::sns:publish", {"TopicArn.$": "$.topic"}, "Message"),
        (GET, {"WithDecryption": True}, "Name"),
        ("arn:aws:states:::aws-sdk:ssm:putParameter", {"Name": "/a"}, "Value"),
    ],
)
def test_a_task_without_a_parameter_its_call_needs_is_refused_when_created(
    shell: Services, resource: str, parameters: dict[str, Any], missing: str
) -> None:
    """Each run would fail the same way: the machine is refused at create, naming the state."""
    states = {"Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}}
    with pytest.raises(InvalidArgument) as refused:
        machine(shell, states)
    assert "/States/Call/Parameters" in refused.value.message
    assert f"needs {missing} in its parameters" in refused.value.message


def test_parameters_given_by_path_or_left_to_the_input_are_taken(shell: Services) -> None:
    by_path = {"Name.$": "$.name"}
    states = {
        "ByPath": {"Type": "Task", "Resource": GET, "Parameters": by_path, "Next": "Input"},
        "Input": {"Type": "Task", "Resource": GET, "End": True},  # the input is the request
    }
    assert machine(shell, states).endswith(":m")


def test_validation_says_which_task_resource_or_parameters_are_at_fault(shell: Services) -> None:
    """ValidateStateMachineDefinition's codes: INVALID_RESOURCE for a resource nothing runs,
    SCHEMA_VALIDATION_FAILED, at the parameters, for parameters its call cannot take."""
    states = {
        "Nowhere": {"Type": "Task", "Resource": "arn:aws:states:::nope:go", "Next": "Bare"},
        "Bare": {"Type": "Task", "Resource": GET, "Parameters": {}, "End": True},
    }
    found = shell.pipelines.validate(json.dumps({"StartAt": "Nowhere", "States": states}))
    assert found.result == "FAIL"
    assert sorted((d.code, d.location) for d in found.diagnostics) == [
        ("INVALID_RESOURCE", "/States/Nowhere/Resource"),
        ("SCHEMA_VALIDATION_FAILED", "/States/Bare/Parameters"),
    ]


def test_the_machine_for_an_execution_is_the_one_it_started_with(services: Services) -> None:
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    config = StateMachineConfig(name="m", definition=json.dumps(wait), role_arn="arn:role/x")
    arn = services.pipelines.create(ROOT, config).arn
    started = services.pipelines.start(ROOT, arn, StartExecution(name="e"))
    services.pipelines.update(
        ROOT,
        arn,
        StateMachineUpdate(
            definition=json.dumps({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
            role_arn="arn:role/y",
        ),
    )
    found = services.pipelines.machine_for_execution(ROOT, started.execution_arn)
    assert (json.loads(found.definition), found.role_arn) == (wait, "arn:role/x")
    assert services.pipelines.describe(ROOT, arn).role_arn == "arn:role/y"


def test_an_input_or_output_that_is_not_json_is_named_in_the_message(shell: Services) -> None:
    nap = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    arn = shell.pipelines.create(ROOT, StateMachineConfig(name="m", definition=nap)).arn
    with pytest.raises(InvalidArgument) as refused:
        shell.pipelines.start(ROOT, arn, StartExecution(input="not json {"))
    assert refused.value.field == "input"
    assert refused.value.message.startswith("input is not JSON: ")  # str(error) names it too
    with pytest.raises(InvalidArgument) as bad_output:
        shell.pipelines.task_success(ROOT, TaskSuccess(task_token="t", output="{"))
    assert bad_output.value.message.startswith("output is not JSON: ")


def test_a_listing_tells_how_each_machine_has_been_running(services: Services) -> None:
    def make(name: str, state: dict[str, object]) -> str:
        definition = json.dumps({"StartAt": "S", "States": {"S": state}})
        return services.pipelines.create(
            ROOT, StateMachineConfig(name=name, definition=definition)
        ).arn

    nap = make("nap", {"Type": "Wait", "Seconds": 3600, "End": True})
    quick = make("quick", {"Type": "Succeed"})
    idle = make("idle", {"Type": "Succeed"})
    for name in ("a", "b"):
        services.pipelines.start(ROOT, nap, StartExecution(name=name))
    services.pipelines.start(ROOT, quick, StartExecution(name="done"))
    listed = {m.name: m for m in services.pipelines.list(ROOT, activity=True).state_machines}
    assert (listed["idle"].last_execution, listed["idle"].running) == (None, 0)
    newest = listed["nap"].last_execution
    assert newest is not None and newest.name == "b" and listed["nap"].running == 2
    last = listed["quick"].last_execution
    assert last is not None and (last.name, last.status.value) == ("done", "SUCCEEDED")
    assert listed["quick"].running == 0
    # Step Functions' listing has neither
    plain = services.pipelines.list(ROOT).state_machines
    assert {(m.last_execution, m.running) for m in plain} == {(None, None)}
    # Two statements for a page, however many machines it holds (not one more for each).
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with services.db.read() as conn:
        event.listen(conn, "before_cursor_execute", seen)
        try:
            latest, running = services.pipelines.engine.repo.activity(conn, [nap, quick, idle])
        finally:
            event.remove(conn, "before_cursor_execute", seen)
    assert len(statements) == 2, statements
    assert {arn: row.name for arn, row in latest.items()} == {nap: "b", quick: "done"}
    assert running == {nap: 2}


@pytest.mark.parametrize("reverse", [False, True])
def test_history_pages_cross_the_stored_chunks(shell: Services, reverse: bool) -> None:
    states: dict[str, Any] = {
        f"P{i}": {"Type": "Pass", "Result": i, "ResultPath": "$.i", "Next": f"P{i + 1}"}
        for i in range(249)
    }
    states["P249"] = {"Type": "Pass", "End": True}
    execution = start(shell, machine(shell, states))
    assert status(shell, execution) == "SUCCEEDED"
    whole = shell.pipelines.history(ROOT, execution, limit=1000, reverse=reverse).events
    n = len(whole)
    assert n > 2 * HISTORY_CHUNK  # three stored chunks at least
    assert [e.id for e in whole] == (list(range(n, 0, -1)) if reverse else list(range(1, n + 1)))
    paged, token = [], None
    while True:
        page = shell.pipelines.history(ROOT, execution, next_token=token, limit=7, reverse=reverse)
        paged.extend(page.events)
        token = page.next_token
        if token is None:
            break
    assert paged == whole
    assert whole[-1 if not reverse else 0].type == "ExecutionSucceeded"
    assert next(e for e in whole if e.id == 150).details  # each event keeps its details


@pytest.mark.parametrize("position", [2**63 - 5, 2**64 - 1, -(2**63)])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_history_token_holding_no_event_id_is_refused_naming_it(
    shell: Services, position: int, reverse: bool
) -> None:
    """A page token is the server's, but a client may send any: one whose event id is past a
    database's integers (or a page's bounds would take it there) is refused, not a 500."""
    execution = start(shell, machine(shell, {"P": {"Type": "Pass", "End": True}}))
    kind = f"history:{execution}:{'reverse' if reverse else 'forward'}"
    token = base64.urlsafe_b64encode(orjson.dumps([kind, position])).decode()
    with pytest.raises(InvalidArgument) as refused:
        shell.pipelines.history(ROOT, execution, next_token=token, limit=7, reverse=reverse)
    assert refused.value.field == "nextToken"


def test_a_succeeded_execution_keeps_no_snapshot_and_a_failed_one_keeps_its_own(
    shell: Services,
) -> None:
    done = start(shell, machine(shell, {"P": {"Type": "Pass", "End": True}}), name="ok")
    failed = start(
        shell, machine(shell, {"F": {"Type": "Fail", "Error": "E"}}, name="f"), name="no"
    )
    repo = shell.pipelines.engine.repo
    with shell.db.read() as conn:
        rows = {arn: repo.execution(conn, arn) for arn in (done, failed)}
    assert (rows[done].status, rows[done].snapshot) == ("SUCCEEDED", "{}")
    assert rows[failed].status == "FAILED"
    assert json.loads(rows[failed].snapshot)["definition"]["StartAt"] == "F"  # to redrive from
