"""The task runner carrying an execution on: a task a completion's transition schedules that
answers without waiting is recorded as started in that transition and started by the thread
that fed the answer, with no engine-loop pass; a crash in between resumes it once."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.server.notifications._receiver import until
from tests.server.pipelines._core import StandInCore
from tests.server.pipelines.conftest import ROOT, Clock
from tests.server.pipelines.test_service import PUBLISH_TOKEN, machine, start, status

from dockyard.api.params import PutParameter
from dockyard.server._services import Services
from dockyard.server.pipelines import TaskRunner
from dockyard.server.pipelines._tasks import Succeeded

GET = "arn:aws:states:::aws-sdk:ssm:getParameter"


def noting(log: Path, names: list[str], last: dict[str, Any] | None = None) -> dict[str, Any]:
    """A chain of Task states each calling the ``starts`` function (one line per call in
    ``log``), then ``last`` when given."""
    states: dict[str, Any] = {}
    for i, name in enumerate(names):
        following = names[i + 1] if i + 1 < len(names) else ("Last" if last else None)
        states[name] = {
            "Type": "Task",
            "Resource": "dockyard:function:starts",
            "Parameters": {"log": str(log)},
            **({"Next": following} if following else {"End": True}),
        }
    if last:
        states["Last"] = last
    return states


def rows(shell: Services, execution: str) -> dict[str, Any]:
    with shell.db.read() as conn:
        found = shell.pipelines.engine.repo.execution_tasks(conn, execution)
    return {row.state_name: row for row in found}


def calls(log: Path) -> int:
    return log.read_text().count("\n") if log.exists() else 0


def test_the_next_task_starts_without_the_loop(
    shell: Services, runner: TaskRunner, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    execution = start(shell, machine(shell, noting(log, ["A", "B", "C"])))
    assert runner.start_scheduled() == 1  # the loop starts the first task; nothing else runs it
    until(lambda: status(shell, execution) != "RUNNING", 30, "the execution ending")
    assert status(shell, execution) == "SUCCEEDED"
    assert calls(log) == 3
    found = rows(shell, execution)
    assert {name: (row.status, row.starts) for name, row in found.items()} == {
        "A": ("done", 1),
        "B": ("done", 1),
        "C": ("done", 1),
    }
    assert runner.start_scheduled() == 0


def test_a_task_that_answers_at_once_carries_on_to_the_next(
    shell: Services, runner: TaskRunner
) -> None:
    shell.params.put(ROOT, PutParameter(name="/m/x", value="1"))
    read = {"Type": "Task", "Resource": GET, "Parameters": {"Name": "/m/x"}}
    execution = start(
        shell, machine(shell, {"R1": {**read, "Next": "R2"}, "R2": {**read, "End": True}})
    )
    assert runner.start_scheduled() == 1
    until(lambda: status(shell, execution) != "RUNNING", 30, "the execution ending")
    assert status(shell, execution) == "SUCCEEDED"
    assert rows(shell, execution)["R2"].starts == 1


def test_a_callback_task_is_left_to_the_loop(
    shell: Services, runner: TaskRunner, tmp_path: Path
) -> None:
    from dockyard.api.notifications import TopicConfig

    shell.notifications.create_topic(ROOT, TopicConfig(name="approvals", description=""))
    ask = {
        "Type": "Task",
        "Resource": PUBLISH_TOKEN,
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:0:approvals", "Message": "ok?"},
        "End": True,
    }
    log = tmp_path / "calls.log"
    execution = start(shell, machine(shell, noting(log, ["A"], last=ask)))
    runner.start_scheduled()
    until(lambda: "Last" in rows(shell, execution), 30, "the callback task being scheduled")
    assert rows(shell, execution)["Last"].status == "scheduled"  # waits for the loop
    assert runner.start_scheduled() == 1


def test_a_crash_after_the_transition_resumes_the_claimed_task_once(
    shell: Services, runner: TaskRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.log"
    execution = start(shell, machine(shell, noting(log, ["A", "B"])))
    dropped: list[Any] = []
    # The server dies right after the transition that claimed B commits: B is never started.
    monkeypatch.setattr(runner, "_carry_on", dropped.append)
    runner.start_scheduled()
    until(lambda: dropped, 30, "A's answer being fed")
    [claims] = dropped
    assert [task["state_name"] for task in claims.taken] == ["B"]
    found = rows(shell, execution)
    assert (found["A"].status, found["B"].status) == ("done", "started")
    assert calls(log) == 1

    resumed = TaskRunner(
        shell.db, shell.pipelines.engine, shell.pipelines.integrations, lambda row: ROOT
    )
    try:
        assert resumed.reschedule_interrupted() == 1  # on taking the lead
        assert resumed.start_scheduled() == 1
        until(lambda: status(shell, execution) != "RUNNING", 30, "the execution ending")
        assert resumed.start_scheduled() == 0
    finally:
        resumed.close()
    assert status(shell, execution) == "SUCCEEDED"
    assert calls(log) == 2  # A once, B once
    assert rows(shell, execution)["B"].status == "done"


def test_an_answer_fed_twice_claims_the_next_task_once(
    shell: Services, runner: TaskRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.log"
    execution = start(shell, machine(shell, noting(log, ["A", "B"])))
    dropped: list[Any] = []
    monkeypatch.setattr(runner, "_carry_on", dropped.append)
    runner.start_scheduled()
    until(lambda: dropped, 30, "A's answer being fed")
    a = rows(shell, execution)["A"]
    runner.complete(a, Succeeded({}))  # the same answer again: A is done, nothing moves
    assert len(dropped) == 1
    assert rows(shell, execution)["B"].starts == 1


def test_a_task_after_a_wait_starts_when_the_timer_fires(
    shell: Services, runner: TaskRunner, clock: Clock, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    nap = {"Nap": {"Type": "Wait", "Seconds": 30, "Next": "A"}}
    execution = start(shell, machine(shell, {**nap, **noting(log, ["A"])}))
    clock.now += 30_000
    runner.fire_timers()  # the transition it feeds claims A: no start_scheduled needed
    until(lambda: status(shell, execution) != "RUNNING", 30, "the execution ending")
    assert status(shell, execution) == "SUCCEEDED"
    assert calls(log) == 1
    assert runner.start_scheduled() == 0


def test_a_long_chain_holds_a_worker_one_task_at_a_time(shell: Services, tmp_path: Path) -> None:
    log = tmp_path / "order.log"

    def chain(tag: str) -> dict[str, Any]:
        task = {
            "Type": "Task",
            "Resource": "dockyard:function:note",
            "Parameters": {"log": str(log), "tag": tag},
        }
        return {"A": {**task, "Next": "B"}, "B": {**task, "Next": "C"}, "C": {**task, "End": True}}

    one_worker = TaskRunner(
        shell.db,
        shell.pipelines.engine,
        shell.pipelines.integrations,
        lambda row: ROOT,
        workers=1,
    )
    try:
        x = start(shell, machine(shell, chain("x"), name="x"))
        y = start(shell, machine(shell, chain("y"), name="y"))
        gate = threading.Event()
        one_worker._submit(gate.wait)  # both first tasks queue before the worker takes one
        assert one_worker.start_scheduled() == 2
        gate.set()
        until(lambda: status(shell, x) != "RUNNING" and status(shell, y) != "RUNNING", 30, "both")
    finally:
        one_worker.close()
    assert (status(shell, x), status(shell, y)) == ("SUCCEEDED", "SUCCEEDED")
    # x's chain went on from A to B on the worker, then let y's waiting task have its turn.
    assert log.read_text() == "xxyyxy"


class _FailsOnBreak(StandInCore):
    """The stand-in core, failing to advance an execution whose input asks it to: a fault of
    the interpreter's own."""

    def advance(self, state: Mapping[str, Any], completions: Sequence[Any], *, now: Any) -> Any:
        if state["data"].get("break"):
            raise RuntimeError("the interpreter tripped")
        return super().advance(state, completions, now=now)


def test_an_execution_the_interpreter_cannot_advance_fails_alone(
    shell: Services, runner: TaskRunner, clock: Clock
) -> None:
    shell.pipelines.engine.core = _FailsOnBreak()
    nap = {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}}
    arn = machine(shell, nap)
    broken = start(shell, arn, {"break": True}, name="broken")  # its timer is due first
    clock.now += 1
    fine = start(shell, arn, {"break": False}, name="fine")
    clock.now += 30_000
    runner.fire_timers()
    assert status(shell, broken) == "FAILED"
    assert status(shell, fine) == "SUCCEEDED"
    failed = shell.pipelines.describe_execution(ROOT, broken)
    assert failed.error == "States.Runtime"
    assert "RuntimeError: the interpreter tripped" in (failed.cause or "")
    history = shell.pipelines.history(ROOT, broken)
    assert history.events[-1].type == "ExecutionFailed"
    with shell.db.read() as conn:  # nothing is left for a later pass to fail on again
        assert shell.pipelines.engine.repo.due_timers(conn, clock.now + 60_000) == []
