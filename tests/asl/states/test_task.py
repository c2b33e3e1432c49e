from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.asl.shell import NOW, Failure, chain, execute


def test_task_payload_result_selector_and_events() -> None:
    definition = chain(
        (
            "Train",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "InputPath": "$.job",
                "Parameters": {"TrainingJobName.$": "$.name", "Static": 1},
                "ResultSelector": {"arn.$": "$.TrainingJobArn"},
                "ResultPath": "$.training",
                "TimeoutSeconds": 300,
                "HeartbeatSeconds": 60,
            },
        )
    )
    seen: list[Any] = []

    def tasks(resource: str, payload: Any) -> Any:
        seen.append((resource, payload))
        return {"TrainingJobArn": "arn:job", "Other": 1}

    run = execute(definition, {"job": {"name": "j1"}}, tasks)
    assert seen == [
        (
            "arn:aws:states:::sagemaker:createTrainingJob.sync",
            {"TrainingJobName": "j1", "Static": 1},
        )
    ]
    assert run.step.output == {"job": {"name": "j1"}, "training": {"arn": "arn:job"}}
    (task,) = run.tasks
    assert (task.task_id, task.state_name, task.timeout_s, task.heartbeat_s, task.task_token) == (
        "Train#1",
        "Train",
        300.0,
        60.0,
        None,
    )
    assert [timer.timer_id for timer in run.timers] == ["Train#1:timeout"]
    assert "Train#1:timeout" in run.cancelled
    assert run.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = run.details("TaskScheduled")[0]["taskScheduledEventDetails"]
    assert scheduled == {
        "resourceType": "sagemaker",
        "resource": "createTrainingJob.sync",
        "region": "",
        "parameters": '{"TrainingJobName":"j1","Static":1}',
        "timeoutInSeconds": 300,
        "heartbeatInSeconds": 60,
    }


def test_a_lambda_functions_own_arn_records_awss_lambda_events() -> None:
    """A Task naming a function by its ARN (not through ``lambda:invoke``) records what AWS
    records for one: LambdaFunctionScheduled (the ARN and the input), Started, then Succeeded,
    Failed or TimedOut, in place of the Task* events of service integrations."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:score"
    calls = {"n": 0}

    def tasks(resource: str, payload: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise Failure("ValueError", '{"errorMessage":"bad"}')
        return {"score": payload["x"] * 2}

    retried = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}
    state = {"Type": "Task", "Resource": arn, "TimeoutSeconds": 30, "Retry": [retried]}
    run = execute(chain(("Score", state)), {"x": 2}, tasks)
    assert run.step.output == {"score": 4}
    assert run.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert run.details("LambdaFunctionScheduled")[0] == {
        "lambdaFunctionScheduledEventDetails": {
            "resource": arn,
            "input": '{"x":2}',
            "inputDetails": {"truncated": False},
            "timeoutInSeconds": 30,
        }
    }
    assert run.details("LambdaFunctionFailed")[0] == {
        "lambdaFunctionFailedEventDetails": {
            "error": "ValueError",
            "cause": '{"errorMessage":"bad"}',
        }
    }
    assert run.details("LambdaFunctionSucceeded")[0] == {
        "lambdaFunctionSucceededEventDetails": {
            "output": '{"score":4}',
            "outputDetails": {"truncated": False},
        }
    }

    def never(resource: str, payload: Any) -> Any:
        raise Failure("States.Timeout")

    timed_out = execute(chain(("Score", {"Type": "Task", "Resource": arn})), {}, never)
    assert "LambdaFunctionTimedOut" in timed_out.types and "TaskTimedOut" not in timed_out.types
    # Lambda through the service integration keeps the integration's Task* events
    invoke = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    integrated = execute(chain(("Score", invoke)), {}, lambda resource, payload: {})
    assert "TaskScheduled" in integrated.types and "LambdaFunctionScheduled" not in integrated.types


def test_wait_for_task_token_puts_the_token_in_the_payload() -> None:
    definition = chain(
        (
            "Ask",
            {
                "Type": "Task",
                "Resource": "dockyard:approve.waitForTaskToken",
                "Parameters": {"token.$": "$$.Task.Token"},
            },
        )
    )
    run = execute(definition, {}, lambda resource, payload: "ok")
    (task,) = run.tasks
    assert task.task_token is not None and len(task.task_token) == 64
    assert task.payload == {"token": task.task_token}


RETRY_TASK = {
    "Type": "Task",
    "Resource": "dockyard:flaky",
    "Retry": [
        {
            "ErrorEquals": ["Flaky.Timeout"],
            "IntervalSeconds": 3,
            "BackoffRate": 2,
            "MaxAttempts": 3,
        },
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 1},
    ],
}


def failing(times: int, error: str = "Flaky.Timeout") -> Any:
    calls = {"n": 0}

    def tasks(resource: str, payload: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise Failure(error, f"attempt {calls['n']}")
        return {"attempts": calls["n"]}

    return tasks


def test_retry_waits_three_six_twelve_seconds_then_succeeds() -> None:
    run = execute(chain(("Work", RETRY_TASK)), {}, failing(3))
    assert run.step.output == {"attempts": 4}
    retries = [timer for timer in run.timers if timer.timer_id.endswith(":retry")]
    gaps = [
        (later.due - earlier.due)
        for earlier, later in zip([None, *retries], retries, strict=False)
        if earlier
    ]
    assert retries[0].due == NOW + timedelta(seconds=3)
    assert gaps == [timedelta(seconds=6), timedelta(seconds=12)]
    assert [task.task_id for task in run.tasks] == ["Work#1", "Work#3", "Work#5", "Work#7"]
    assert run.types.count("TaskStateEntered") == 1
    assert run.types.count("TaskFailed") == 3


def test_retries_exhausted_fail_with_the_last_error() -> None:
    run = execute(chain(("Work", RETRY_TASK)), {}, failing(10))
    assert (run.step.status, run.step.error, run.step.cause) == (
        "FAILED",
        "Flaky.Timeout",
        "attempt 4",
    )


def test_a_steep_back_off_waits_the_longest_timer_at_most() -> None:
    retried = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1e300}
    task = {"Type": "Task", "Resource": "dockyard:function:f", "Retry": [retried]}
    run = execute(chain(("Work", task)), {}, failing(2))
    assert run.step.output == {"attempts": 3}
    retries = [timer.due for timer in run.timers if timer.timer_id.endswith(":retry")]
    assert retries[1] - retries[0] == timedelta(seconds=99999999)


def test_a_timeout_or_heartbeat_read_past_the_longest_timer_fails_the_state() -> None:
    for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
        task = {"Type": "Task", "Resource": "dockyard:function:f", field: "$.s"}
        run = execute(chain(("Work", task)), {"s": 10**20}, failing(0))
        assert (run.step.status, run.step.error) == ("FAILED", "States.Runtime")
        assert "more than 99999999 seconds" in (run.step.cause or "")


def test_retry_count_is_in_the_context_object() -> None:
    task = {**RETRY_TASK, "Parameters": {"try.$": "$$.State.RetryCount"}}
    payloads: list[Any] = []

    def tasks(resource: str, payload: Any) -> Any:
        payloads.append(payload)
        if len(payloads) < 3:
            raise Failure("Flaky.Timeout")
        return None

    execute(chain(("Work", task)), {}, tasks)
    assert payloads == [{"try": 0}, {"try": 1}, {"try": 2}]


def test_catch_puts_the_error_output_at_result_path_and_goes_on() -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "dockyard:bad",
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Never"},
                    {
                        "ErrorEquals": ["States.TaskFailed"],
                        "ResultPath": "$.error",
                        "Next": "Recover",
                    },
                ],
            },
            "Never": {"Type": "Fail"},
            "Recover": {"Type": "Pass", "End": True},
        },
    }
    run = execute(definition, {"in": 1}, failing(1, "Custom.Error"))
    assert run.step.output == {"in": 1, "error": {"Error": "Custom.Error", "Cause": "attempt 1"}}


def test_task_timeout_cancels_the_task_and_is_a_states_timeout() -> None:
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "dockyard:slow",
                "TimeoutSecondsPath": "$.limit",
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Late"},
                ],
            },
            "Wrong": {"Type": "Fail"},
            "Late": {"Type": "Pass", "End": True},
        },
    }
    from dockyard.asl import TimerFired, advance, start
    from tests.asl.shell import CONTEXT

    step = start(definition, {"limit": 30}, context=CONTEXT, now=NOW)
    (_task, timer) = step.effects
    assert timer.due == NOW + timedelta(seconds=30)  # type: ignore[union-attr]
    step = advance(step.state, [TimerFired("Slow#1:timeout")], now=NOW + timedelta(seconds=30))
    assert step.status == "SUCCEEDED"
    assert step.output == {"Error": "States.Timeout", "Cause": None}
    assert [type(effect).__name__ for effect in step.effects] == ["CancelTask"]
    assert [event.type for event in step.events][:1] == ["TaskTimedOut"]


def test_jitter_is_deterministic_for_the_same_snapshot() -> None:
    task = {
        **RETRY_TASK,
        "Retry": [
            {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "JitterStrategy": "FULL"}
        ],
    }
    first = execute(chain(("Work", task)), {}, failing(2))
    second = execute(chain(("Work", task)), {}, failing(2))
    dues = [timer.due for timer in first.timers]
    assert dues == [timer.due for timer in second.timers]
    assert all(NOW <= due <= NOW + timedelta(seconds=200) for due in dues)


def test_a_heartbeat_timeout_from_the_shell_is_a_timed_out_task() -> None:
    definition = {
        "StartAt": "Beat",
        "States": {
            "Beat": {
                "Type": "Task",
                "Resource": "dockyard:long",
                "HeartbeatSeconds": 10,
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Lost"}],
            },
            "Lost": {"Type": "Pass", "End": True},
        },
    }

    def tasks(resource: str, payload: Any) -> Any:
        raise Failure("States.HeartbeatTimeout")

    run = execute(definition, {}, tasks)
    assert run.step.output == {"Error": "States.HeartbeatTimeout", "Cause": None}
    assert run.details("TaskTimedOut") == [
        {
            "taskTimedOutEventDetails": {
                "resourceType": "dockyard",
                "resource": "long",
                "error": "States.HeartbeatTimeout",
            }
        }
    ]
