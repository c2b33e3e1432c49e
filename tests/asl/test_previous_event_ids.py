"""Each history event names the event that led to it (``previousEventId``), as AWS records it.

Events of one thread of control (the top level, a Parallel branch, a Map iteration) chain
one to the next; a branch's or an iteration's first event follows the state's Started event;
the state's Succeeded and Exited events follow the last event of the branch or iteration that
ended last. Where branches and iterations interleave, that is not the event just before.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.asl import StartTask, TaskSucceeded, advance, start
from tests.asl.shell import CONTEXT, NOW, Failure, Run, chain, execute, roundtrip

PASS = {"Type": "Pass"}
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def links(run: Run) -> list[tuple[int, int | None, str]]:
    """(id, previousEventId, type) of each event, numbered from 1 as the shell numbers them."""
    return [(i, e.previous_event_id, e.type) for i, e in enumerate(run.events, start=1)]


def test_a_sequential_chain_links_each_event_to_the_one_before_it() -> None:
    definition = chain(
        ("A", PASS),
        ("W", {"Type": "Wait", "Seconds": 1}),
        ("T", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}),
    )
    run = execute(definition, {}, lambda resource, payload: {"ok": True})
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),  # the first state follows no event (AWS: 0)
        (3, 2, "PassStateExited"),
        (4, 3, "WaitStateEntered"),
        (5, 4, "WaitStateExited"),
        (6, 5, "TaskStateEntered"),
        (7, 6, "TaskScheduled"),
        (8, 7, "TaskStarted"),
        (9, 8, "TaskSucceeded"),
        (10, 9, "TaskStateExited"),
        (11, 10, "ExecutionSucceeded"),
    ]


def test_parallel_branches_follow_the_started_event_and_the_state_follows_the_last_branch() -> None:
    branches = [chain(("X", PASS), ("Y", PASS)), chain(("Z", PASS))]
    definition = chain(("Par", {"Type": "Parallel", "Branches": branches}), ("After", PASS))
    run = execute(definition)
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "PassStateEntered"),  # X: the first branch
        (5, 4, "PassStateExited"),
        (6, 5, "PassStateEntered"),  # Y
        (7, 6, "PassStateExited"),
        (8, 3, "PassStateEntered"),  # Z: the second branch also starts from the Started event
        (9, 8, "PassStateExited"),
        (10, 9, "ParallelStateSucceeded"),
        (11, 9, "ParallelStateExited"),  # as AWS: Exited follows what Succeeded follows
        (12, 11, "PassStateEntered"),
        (13, 12, "PassStateExited"),
        (14, 13, "ExecutionSucceeded"),
    ]


def test_map_iterations_follow_the_started_event_and_the_state_follows_the_last_iteration() -> None:
    definition = chain(("M", {"Type": "Map", "ItemProcessor": chain(("I", PASS))}))
    run = execute(definition, [1, 2, 3])
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "PassStateEntered"),
        (6, 5, "PassStateExited"),
        (7, 6, "MapIterationSucceeded"),
        (8, 3, "MapIterationStarted"),  # every iteration starts from the Started event
        (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"),
        (11, 10, "MapIterationSucceeded"),
        (12, 3, "MapIterationStarted"),
        (13, 12, "PassStateEntered"),
        (14, 13, "PassStateExited"),
        (15, 14, "MapIterationSucceeded"),
        (16, 15, "MapStateSucceeded"),
        (17, 15, "MapStateExited"),
        (18, 17, "ExecutionSucceeded"),
    ]
    starts = [e.details for e in run.events if e.type == "MapIterationStarted"]
    assert [d["mapIterationStartedEventDetails"]["index"] for d in starts] == [0, 1, 2]


def test_an_iteration_launched_in_the_place_of_another_follows_its_last_event() -> None:
    """MaxConcurrency 1: as a recorded AWS history of the same machine shows it."""
    processor = chain(("HandleItem", PASS))
    definition = chain(
        ("MapState", {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor}),
        ("Final", PASS),
    )
    run = execute(definition, [1, "Hello"])
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "PassStateEntered"),
        (6, 5, "PassStateExited"),
        (7, 6, "MapIterationSucceeded"),
        (8, 6, "MapIterationStarted"),  # the first iteration's last state event led to it
        (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"),
        (11, 10, "MapIterationSucceeded"),
        (12, 11, "MapStateSucceeded"),
        (13, 11, "MapStateExited"),
        (14, 13, "PassStateEntered"),
        (15, 14, "PassStateExited"),
        (16, 15, "ExecutionSucceeded"),
    ]


def test_a_failed_iteration_leads_to_the_map_failing() -> None:
    processor = chain(("Bad", {"Type": "Fail", "Error": "E", "Cause": "c"}))
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    definition = chain(
        ("M", {"Type": "Map", "ItemProcessor": processor, "Catch": catch}), ("Caught", PASS)
    )
    run = execute(definition, [1])
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "FailStateEntered"),
        (6, 5, "MapIterationFailed"),
        (7, 5, "MapStateFailed"),  # as AWS: both follow the iteration's last event
        (8, 7, "MapStateExited"),  # caught: left with the catcher's output
        (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"),
        (11, 10, "ExecutionSucceeded"),
    ]


def test_a_retried_task_schedules_again_after_its_failure() -> None:
    attempts: list[str] = []

    def answer(resource: str, payload: Any) -> Any:
        attempts.append(resource)
        if len(attempts) == 1:
            raise Failure("Boom", "first attempt")
        return {"ok": True}

    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}]
    definition = chain(
        ("T", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Retry": retry})
    )
    run = execute(definition, {}, answer)
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "TaskStateEntered"),
        (3, 2, "TaskScheduled"),
        (4, 3, "TaskStarted"),
        (5, 4, "TaskFailed"),
        (6, 5, "TaskScheduled"),  # the retry follows the failure
        (7, 6, "TaskStarted"),
        (8, 7, "TaskSucceeded"),
        (9, 8, "TaskStateExited"),
        (10, 9, "ExecutionSucceeded"),
    ]


def test_retries_and_catches_in_branches_stay_in_their_branch_across_calls() -> None:
    """Each completion is its own call on a snapshot gone through JSON: a branch's events
    still follow its own last event, whatever the other branch recorded meanwhile."""
    failed: set[str] = set()

    def answer(resource: str, payload: Any) -> Any:
        name = resource.rsplit(":", 1)[-1]
        if name == "TB" or name not in failed:
            failed.add(name)
            raise Failure("Boom" if name == "TA" else "Bad")
        return {"ok": True}

    branches = [
        chain(
            (
                "TA",
                {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}TA",
                    "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}],
                },
            )
        ),
        chain(
            (
                "TB",
                {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}TB",
                    "Catch": [{"ErrorEquals": ["Bad"], "Next": "Caught"}],
                },
            ),
            ("Caught", PASS),
        ),
    ]
    run = execute(chain(("Par", {"Type": "Parallel", "Branches": branches})), {}, answer)
    assert links(run) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "TaskStateEntered"),  # TA
        (5, 4, "LambdaFunctionScheduled"),
        (6, 5, "LambdaFunctionStarted"),
        (7, 3, "TaskStateEntered"),  # TB
        (8, 7, "LambdaFunctionScheduled"),
        (9, 8, "LambdaFunctionStarted"),
        (10, 6, "LambdaFunctionFailed"),  # TA's
        (11, 9, "LambdaFunctionFailed"),  # TB's
        (12, 11, "TaskStateExited"),  # caught: TB is left with the catcher's output
        (13, 12, "PassStateEntered"),
        (14, 13, "PassStateExited"),
        (15, 10, "LambdaFunctionScheduled"),  # TA's retry
        (16, 15, "LambdaFunctionStarted"),
        (17, 16, "LambdaFunctionSucceeded"),
        (18, 17, "TaskStateExited"),
        (19, 18, "ParallelStateSucceeded"),
        (20, 18, "ParallelStateExited"),
        (21, 20, "ExecutionSucceeded"),
    ]


def test_a_snapshot_written_before_threads_kept_their_last_event_still_advances() -> None:
    """A running execution saved by an earlier version resumes: its events follow the last
    event recorded, as every event then did."""
    definition = chain(("T", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}))
    step = start(definition, {}, context=CONTEXT, now=NOW)
    state = roundtrip(step.state)
    for thread in state["threads"].values():
        del thread["pe"]
    (task,) = [effect for effect in step.effects if isinstance(effect, StartTask)]
    resumed = advance(state, [TaskSucceeded(task.task_id, {"ok": True})], now=NOW)
    assert resumed.status == "SUCCEEDED"
    assert [(e.previous_event_id, e.type) for e in resumed.events] == [
        (4, "TaskSucceeded"),
        (5, "TaskStateExited"),
        (6, "ExecutionSucceeded"),
    ]


def test_a_caught_task_is_left_with_the_catchers_output_as_aws_records_it() -> None:
    """AWS's recording of a Lambda task raising into a Catch: TaskFailed, then TaskStateExited
    whose output is the error output the next state is entered with."""

    def answer(resource: str, payload: Any) -> Any:
        raise Failure("Exception", "Some exception was raised.")

    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]
    definition = chain(
        ("Start", {"Type": "Task", "Resource": f"{LAMBDA}f", "Catch": catch}),
        ("Handler", {"Type": "Pass", "ResultPath": "$.task_failed_error"}),
    )
    run = execute(definition, {}, answer)
    assert [e.type for e in run.events][4:7] == [
        "LambdaFunctionFailed",
        "TaskStateExited",
        "PassStateEntered",
    ]
    exited = run.events[5].details["stateExitedEventDetails"]
    error = {"Error": "Exception", "Cause": "Some exception was raised."}
    assert exited["name"] == "Start"
    assert json.loads(exited["output"]) == error
    entered = run.events[6].details["stateEnteredEventDetails"]
    assert json.loads(entered["input"]) == error


def test_a_retried_map_records_its_failure_only_once_no_retry_is_left() -> None:
    calls: list[str] = []

    def answer(resource: str, payload: Any) -> Any:
        calls.append(resource)
        raise Failure("Boom", "always")

    processor = chain(("T", {"Type": "Task", "Resource": f"{LAMBDA}f"}))
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    definition = chain(("M", {"Type": "Map", "ItemProcessor": processor, "Retry": retry}))
    run = execute(definition, [1], answer)
    types = [e.type for e in run.events]
    assert len(calls) == 3  # the first attempt and two retries
    assert types.count("MapStateStarted") == 3
    assert types.count("MapStateFailed") == 1 and types[-2:] == [
        "MapStateFailed",
        "ExecutionFailed",
    ]
    # each attempt after the first follows the failed iteration's last event, as the
    # iteration's Failed event does
    failed = [e.previous_event_id for e in run.events if e.type == "MapIterationFailed"]
    started = [e.previous_event_id for e in run.events if e.type == "MapStateStarted"]
    assert started[1:] == failed[:2]
    assert all(types[p - 1] == "LambdaFunctionFailed" for p in failed if p)
