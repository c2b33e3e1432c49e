from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dockyard.asl import (
    CancelTask,
    CancelTimer,
    StartTask,
    StopRequested,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    advance,
    redrive,
    start,
)
from dockyard.errors import Conflict, InvalidArgument, PayloadTooLarge
from tests.asl.shell import CONTEXT, NOW, chain, roundtrip

WORK = {"Type": "Task", "Resource": "dockyard:work"}


def task_ids(effects: list[Any]) -> list[str]:
    return [effect.task_id for effect in effects if isinstance(effect, StartTask)]


def test_execution_started_event_and_timeout_timer() -> None:
    step = start(chain(("W", WORK), TimeoutSeconds=60), {"a": 1}, context=CONTEXT, now=NOW)
    assert step.events[0].type == "ExecutionStarted"
    assert step.events[0].details == {
        "executionStartedEventDetails": {"input": '{"a":1}', "inputDetails": {"truncated": False}}
    }
    timers = [effect for effect in step.effects if not isinstance(effect, StartTask)]
    assert [(t.timer_id, t.due) for t in timers] == [
        ("execution:timeout", NOW + timedelta(seconds=60))
    ]  # type: ignore[union-attr]
    timed = advance(roundtrip(step.state), [TimerFired("execution:timeout")], now=NOW)
    assert (timed.status, timed.error) == ("TIMED_OUT", "States.Timeout")
    assert timed.effects == [CancelTask("W#1")]
    assert timed.events[-1].type == "ExecutionTimedOut"


def test_stop_cancels_everything_outstanding() -> None:
    definition = chain(
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "W", "States": {"W": {**WORK, "TimeoutSeconds": 5, "End": True}}},
                    {
                        "StartAt": "N",
                        "States": {"N": {"Type": "Wait", "Seconds": 100, "End": True}},
                    },
                ],
            },
        )
    )
    step = start(definition, {}, context=CONTEXT, now=NOW)
    stopped = advance(roundtrip(step.state), [StopRequested("User.Stop", "enough")], now=NOW)
    assert (stopped.status, stopped.error, stopped.cause) == ("ABORTED", "User.Stop", "enough")
    assert set(stopped.effects) == {
        CancelTask("Both/0/W#1"),
        CancelTimer("Both/0/W#1:timeout"),
        CancelTimer("Both/1/N#2:wait"),
    }
    assert stopped.events[-1].details == {
        "executionAbortedEventDetails": {"error": "User.Stop", "cause": "enough"}
    }


def test_completions_for_unknown_or_settled_tasks_are_ignored() -> None:
    step = start(chain(("W", WORK)), {}, context=CONTEXT, now=NOW)
    same = advance(roundtrip(step.state), [TaskSucceeded("nope", 1), TimerFired("nope")], now=NOW)
    assert (same.status, same.effects, same.events) == ("RUNNING", [], [])
    done = advance(
        roundtrip(step.state), [TaskSucceeded("W#1", 1), TaskSucceeded("W#1", 2)], now=NOW
    )
    assert done.output == 1


def test_advance_is_deterministic_and_leaves_its_input_alone() -> None:
    step = start(chain(("W", WORK), ("V", WORK)), {}, context=CONTEXT, now=NOW)
    before = roundtrip(step.state)
    first = advance(step.state, [TaskSucceeded("W#1", {"x": 1})], now=NOW)
    second = advance(step.state, [TaskSucceeded("W#1", {"x": 1})], now=NOW)
    assert step.state == before
    assert first == second


def test_redrive_resumes_from_the_failed_state() -> None:
    definition = chain(("First", {"Type": "Pass", "Result": 1, "ResultPath": "$.one"}), ("W", WORK))
    step = start(definition, {}, context=CONTEXT, now=NOW)
    failed = advance(roundtrip(step.state), [TaskFailed("W#1", "Boom", "no")], now=NOW)
    assert failed.status == "FAILED"
    again = redrive(roundtrip(failed.state), now=NOW)
    assert [event.type for event in again.events] == [
        "ExecutionRedriven",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
    ]
    assert again.events[0].details == {"executionRedrivenEventDetails": {"redriveCount": 1}}
    (task,) = [effect for effect in again.effects if isinstance(effect, StartTask)]
    assert task.payload == {"one": 1}
    execution = again.state["context"]["Execution"]
    assert (execution["RedriveCount"], execution["RedriveTime"]) == (1, "2026-01-01T00:00:00.000Z")
    done = advance(roundtrip(again.state), [TaskSucceeded(task.task_id, "ok")], now=NOW)
    assert (done.status, done.output) == ("SUCCEEDED", "ok")


def test_redrive_reruns_only_the_iterations_that_did_not_succeed() -> None:
    processor = {"StartAt": "W", "States": {"W": {**WORK, "End": True}}}
    step = start(
        chain(("Each", {"Type": "Map", "ItemProcessor": processor})),
        [0, 1, 2],
        context=CONTEXT,
        now=NOW,
    )
    first = task_ids(step.effects)
    step = advance(roundtrip(step.state), [TaskSucceeded(first[0], "A")], now=NOW)
    step = advance(roundtrip(step.state), [TaskFailed(first[1], "Boom", None)], now=NOW)
    assert step.status == "FAILED"
    assert step.effects == [CancelTask(first[2])]
    again = redrive(roundtrip(step.state), now=NOW)
    rerun = task_ids(again.effects)
    assert [task.split("#")[0] for task in rerun] == ["Each/1/W", "Each/2/W"]
    done = advance(
        roundtrip(again.state),
        [TaskSucceeded(rerun[0], "B"), TaskSucceeded(rerun[1], "C")],
        now=NOW,
    )
    assert done.output == ["A", "B", "C"]


def test_only_stopped_executions_can_be_redriven() -> None:
    step = start(chain(("P", {"Type": "Pass"})), {}, context=CONTEXT, now=NOW)
    with pytest.raises(Conflict):
        redrive(step.state, now=NOW)


def test_bad_calls_are_clear_errors() -> None:
    with pytest.raises(InvalidArgument, match="StartAt"):
        start({"StartAt": "X", "States": {}}, {}, context=CONTEXT, now=NOW)
    with pytest.raises(PayloadTooLarge):
        start(chain(("P", {"Type": "Pass"})), "x" * 300_000, context=CONTEXT, now=NOW)
    with pytest.raises(InvalidArgument, match="version"):
        advance({"v": 99}, [], now=NOW)


def test_stopped_states_record_their_abort_and_a_stopped_execution_can_be_redriven() -> None:
    step = start(chain(("W", WORK)), {"a": 1}, context=CONTEXT, now=NOW)
    stopped = advance(roundtrip(step.state), [StopRequested(None, None)], now=NOW)
    assert [event.type for event in stopped.events] == ["TaskStateAborted", "ExecutionAborted"]
    again = redrive(roundtrip(stopped.state), now=NOW)
    assert task_ids(again.effects) == ["W#2"]
    done = advance(roundtrip(again.state), [TaskSucceeded("W#2", 5)], now=NOW)
    assert done.output == 5


def test_nested_fan_outs_name_their_tasks_by_path() -> None:
    inner = {"StartAt": "W", "States": {"W": {**WORK, "End": True}}}
    outer = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "In",
                        "States": {"In": {"Type": "Map", "ItemProcessor": inner, "End": True}},
                    }
                ],
                "End": True,
            }
        },
    }
    step = start(
        chain(("Out", {"Type": "Map", "ItemProcessor": outer})),
        [[1], [2, 3]],
        context=CONTEXT,
        now=NOW,
    )
    ids = task_ids(step.effects)
    assert [task.split("#")[0] for task in ids] == [
        "Out/0/Par/0/In/0/W",
        "Out/1/Par/0/In/0/W",
        "Out/1/Par/0/In/1/W",
    ]
    done = advance(
        roundtrip(step.state), [TaskSucceeded(task, n) for n, task in enumerate(ids)], now=NOW
    )
    assert done.output == [[[0]], [[1, 2]]]


def test_a_fail_state_without_error_fails_with_no_error_name() -> None:
    step = start(chain(("F", {"Type": "Fail"})), {}, context=CONTEXT, now=NOW)
    assert (step.status, step.error, step.cause) == ("FAILED", None, None)
    assert step.events[-1].details == {"executionFailedEventDetails": {}}


def test_advance_never_changes_the_snapshot_it_is_given() -> None:
    processor = {"StartAt": "W", "States": {"W": {**WORK, "End": True}}}
    definition = chain(("Each", {"Type": "Map", "ItemProcessor": processor}), ("V", WORK))
    step = start(definition, [1, 2, 3], context=CONTEXT, now=NOW)
    ids = task_ids(step.effects)
    for completions in ([TaskSucceeded(ids[0], 1)], [TaskFailed(ids[1], "E", None)]):
        before = roundtrip(step.state)
        advance(step.state, completions, now=NOW)
        assert step.state == before
    step = advance(step.state, [TaskSucceeded(ids[0], 1)], now=NOW)
    before = roundtrip(step.state)
    stopped = advance(step.state, [StopRequested(None, None)], now=NOW)
    assert step.state == before
    redrive(stopped.state, now=NOW)
    assert roundtrip(stopped.state) == roundtrip(stopped.state) and stopped.status == "ABORTED"


def test_a_definition_is_read_never_changed_so_executions_may_share_it() -> None:
    processor = {"StartAt": "W", "States": {"W": {**WORK, "End": True}}}
    retried = {
        **WORK,
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Out"}],
    }
    definition = chain(
        ("Shape", {"Type": "Pass", "Parameters": {"n.$": "$.n", "l.$": "$.l"}}),
        ("Vars", {"Type": "Pass", "Assign": {"seen.$": "$.n"}, "ResultPath": "$.p"}),
        (
            "Pick",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Each"}],
                "Default": "Out",
            },
        ),
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.l",
                "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                "ItemProcessor": processor,
                "ResultPath": "$.mapped",
            },
        ),
        ("Both", {"Type": "Parallel", "Branches": [processor, processor], "ResultPath": "$.b"}),
        ("Try", retried),
        (
            "Out",
            {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.ok + 1 %}"},
        ),
    )
    before = roundtrip(definition)
    step = start(definition, {"n": 1, "l": [1, 2]}, context=CONTEXT, now=NOW)
    failed_once = False
    while step.status == "RUNNING":
        ids = task_ids(step.effects)
        assert ids, step.effects
        completions: list[Any] = []
        for task in ids:
            if task.startswith("Try") and not failed_once:  # retried once, then it succeeds
                failed_once = True
                completions.append(TaskFailed(task, "E", "no"))
            else:
                completions.append(TaskSucceeded(task, {"ok": 1}))
        step = advance(step.state, completions, now=NOW)
        if step.status == "RUNNING" and not task_ids(step.effects):  # the retry's timer
            timers = [e for e in step.effects if type(e).__name__ == "StartTimer"]
            step = advance(step.state, [TimerFired(timers[0].timer_id)], now=NOW)
    assert failed_once
    assert (step.status, step.error, step.cause, step.output) == ("SUCCEEDED", None, None, 2)
    assert definition == before


def test_assign_reads_the_selected_result_and_inner_scopes_read_outer_variables() -> None:
    processor = {
        "StartAt": "Inner",
        "States": {
            "Inner": {
                "Type": "Pass",
                "Parameters": {"v.$": "$", "job.$": "$jobId"},
                "Assign": {"local": 1},
                "End": True,
            }
        },
    }
    definition = chain(
        (
            "W",
            {
                **WORK,
                "ResultSelector": {"id.$": "$.JobId"},
                "Assign": {"jobId.$": "$.id"},
                "ResultPath": None,
            },
        ),
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": processor,
                "ResultPath": "$.out",
            },
        ),
        ("After", {"Type": "Pass", "Parameters": {"job.$": "$jobId", "out.$": "$.out"}}),
    )
    step = start(definition, {"items": [1, 2]}, context=CONTEXT, now=NOW)
    done = advance(
        roundtrip(step.state), [TaskSucceeded("W#1", {"JobId": "j-9", "Other": 0})], now=NOW
    )
    assert done.output == {"job": "j-9", "out": [{"v": 1, "job": "j-9"}, {"v": 2, "job": "j-9"}]}
    assert "local" not in done.state["threads"].get("", {}).get("vars", {})


def test_catch_assign_reads_the_error_output() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {
                **WORK,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"why.$": "$.Cause"},
                        "ResultPath": None,
                        "Next": "P",
                    }
                ],
            },
            "P": {"Type": "Pass", "Parameters": {"why.$": "$why"}, "End": True},
        },
    }
    step = start(definition, {}, context=CONTEXT, now=NOW)
    done = advance(roundtrip(step.state), [TaskFailed("W#1", "E", "broken disk")], now=NOW)
    assert done.output == {"why": "broken disk"}


def test_a_definition_validation_would_refuse_fails_the_execution_instead_of_the_caller() -> None:
    step = start(chain(("Each", {"Type": "Map"})), [1], context=CONTEXT, now=NOW)
    assert (step.status, step.error) == ("FAILED", "States.Runtime")
    assert "KeyError" in (step.cause or "")
    step = start(chain(("W", WORK)), {}, context=CONTEXT, now=NOW)
    done = advance(step.state, [TaskSucceeded("W#1", {1, 2})], now=NOW)
    assert (done.status, done.error) == ("FAILED", "States.Runtime")


def test_an_intrinsic_failure_names_the_state_the_field_and_the_call() -> None:
    from tests.asl.shell import execute

    definition = chain(
        ("A", {"Type": "Pass", "Parameters": {"a.$": "States.ArrayPartition($.x, 0)"}})
    )
    step = execute(definition, {"x": "hi"}).step
    assert (step.status, step.error) == ("FAILED", "States.IntrinsicFailure")
    assert step.cause is not None
    assert step.cause.startswith("An error occurred while executing the state 'A' (entered at")
    assert "'States.ArrayPartition($.x, 0)'" in step.cause and "'a.$'" in step.cause
    assert "must be an array" in step.cause


def test_a_result_path_match_failure_names_the_state_and_the_path() -> None:
    from tests.asl.shell import execute

    definition = chain(("A", {"Type": "Pass", "Result": 1, "ResultPath": "$.x.y"}))
    step = execute(definition, {"x": "hi"}).step
    assert (step.status, step.error) == ("FAILED", "States.ResultPathMatchFailure")
    assert step.cause is not None
    assert step.cause.startswith("An error occurred while executing the state 'A' (entered at")
    assert "Unable to apply ReferencePath $.x.y to input" in step.cause
