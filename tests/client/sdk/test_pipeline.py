"""``dy.Pipeline``: steps compile to the States Language document a user would write by hand."""

from __future__ import annotations

import json

import pytest

import dockyard as dy
from dockyard import steps
from dockyard.asl import DefinitionInvalid, validate
from dockyard.errors import InvalidArgument


def test_a_chain_compiles_to_next_and_end_in_running_order() -> None:
    pipeline = dy.Pipeline(
        "p", steps.Pass("A") >> steps.Pass("B", result={"x": 1}) >> steps.Succeed("C")
    )

    assert pipeline.definition() == {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Result": {"x": 1}, "Next": "C"},
            "C": {"Type": "Succeed"},
        },
    }
    assert json.loads(pipeline.to_json()) == pipeline.definition()


def test_paths_become_dollar_fields_at_any_depth() -> None:
    task = steps.Task(
        "Call",
        "dockyard:function:score",
        parameters={"Name": dy.path("$.name"), "Nested": {"Id": dy.path("$$.Execution.Id")}},
        result_selector={"Score": dy.path("$.Payload.score")},
        result_path="$.score",
    )

    state = dy.Pipeline("p", task).definition()["States"]["Call"]

    assert state["Resource"] == "dockyard:function:score"
    assert state["Parameters"] == {"Name.$": "$.name", "Nested": {"Id.$": "$$.Execution.Id"}}
    assert state["ResultSelector"] == {"Score.$": "$.Payload.score"}
    assert state["End"] is True


def test_a_choice_followed_by_a_step_joins_there() -> None:
    register = steps.Pass("Register")
    gate = steps.Choice("Good").when(dy.Condition("$.rmse") < 3.0, register)
    states = dy.Pipeline("p", gate >> steps.Pass("Notify")).definition()["States"]

    assert states["Good"]["Choices"] == [
        {"Variable": "$.rmse", "NumericLessThan": 3.0, "Next": "Register"}
    ]
    assert states["Good"]["Default"] == "Notify"
    assert states["Register"]["Next"] == "Notify"
    assert states["Notify"]["End"] is True


def test_a_branch_ending_in_fail_does_not_join() -> None:
    gate = (
        steps.Choice("Good")
        .when(dy.Condition("$.stage") == "prod", steps.Pass("Deploy"))
        .otherwise(steps.Fail("Refused", error="Gate", cause="not prod"))
    )
    states = dy.Pipeline("p", gate >> steps.Succeed("Done")).definition()["States"]

    assert states["Good"]["Choices"][0]["StringEquals"] == "prod"
    assert states["Good"]["Default"] == "Refused"
    assert states["Refused"] == {"Type": "Fail", "Error": "Gate", "Cause": "not prod"}
    assert states["Deploy"]["Next"] == "Done"


@pytest.mark.parametrize(
    ("condition", "rule"),
    [
        (dy.Condition("$.n") >= 2, {"Variable": "$.n", "NumericGreaterThanEquals": 2}),
        (dy.Condition("$.n") > 2.5, {"Variable": "$.n", "NumericGreaterThan": 2.5}),
        (dy.Condition("$.n") <= 1, {"Variable": "$.n", "NumericLessThanEquals": 1}),
        (dy.Condition("$.ok") == True, {"Variable": "$.ok", "BooleanEquals": True}),  # noqa: E712
        (dy.Condition("$.s").matches("log-*"), {"Variable": "$.s", "StringMatches": "log-*"}),
        (dy.Condition("$.s").is_present(), {"Variable": "$.s", "IsPresent": True}),
        (dy.Condition("$.s") != "x", {"Not": {"Variable": "$.s", "StringEquals": "x"}}),
        (dy.Condition("$.s").is_null(False), {"Variable": "$.s", "IsNull": False}),
        (
            dy.Condition("$.a") < dy.path("$.b"),
            {"Variable": "$.a", "NumericLessThanPath": "$.b"},
        ),
        (
            dy.Condition("$.t", kind="Timestamp") > "2026-01-01T00:00:00Z",
            {"Variable": "$.t", "TimestampGreaterThan": "2026-01-01T00:00:00Z"},
        ),
        (
            (dy.Condition("$.a") > 1) & ~(dy.Condition("$.b") == "x"),
            {
                "And": [
                    {"Variable": "$.a", "NumericGreaterThan": 1},
                    {"Not": {"Variable": "$.b", "StringEquals": "x"}},
                ]
            },
        ),
        (
            (dy.Condition("$.a") > 1) | (dy.Condition("$.a") < -1),
            {
                "Or": [
                    {"Variable": "$.a", "NumericGreaterThan": 1},
                    {"Variable": "$.a", "NumericLessThan": -1},
                ]
            },
        ),
    ],
)
def test_conditions_compile_to_choice_rules(condition: dy.Condition, rule: dict) -> None:
    gate = steps.Choice("C").when(condition, steps.Succeed("Yes"))

    compiled = dy.Pipeline("p", gate).definition()["States"]["C"]["Choices"][0]

    assert compiled == {**rule, "Next": "Yes"}


def test_parallel_and_map_get_their_own_state_machines() -> None:
    fan = steps.Parallel(
        "Both",
        [steps.Pass("Left"), steps.Pass("Right1") >> steps.Pass("Right2")],
        result_path="$.both",
    )
    each = steps.Map(
        "Each",
        steps.Task("Score", "dockyard:function:score"),
        items_path="$.items",
        max_concurrency=4,
        item_selector={"Item": dy.path("$$.Map.Item.Value")},
        tolerated_failures=1,
    )
    states = dy.Pipeline("p", fan >> each).definition()["States"]

    assert states["Both"]["Branches"] == [
        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
        {
            "StartAt": "Right1",
            "States": {
                "Right1": {"Type": "Pass", "Next": "Right2"},
                "Right2": {"Type": "Pass", "End": True},
            },
        },
    ]
    assert states["Both"]["Next"] == "Each"
    assert states["Each"]["ItemProcessor"] == {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Score",
        "States": {"Score": {"Type": "Task", "Resource": "dockyard:function:score", "End": True}},
    }
    assert states["Each"]["ItemSelector"] == {"Item.$": "$$.Map.Item.Value"}
    assert states["Each"]["MaxConcurrency"] == 4
    assert states["Each"]["ToleratedFailureCount"] == 1


def test_retries_and_catches() -> None:
    train = steps.Train(
        "Train",
        {"algorithm": "xgboost"},
        retry=[
            dy.Retry(["States.Timeout"], interval_s=5, max_attempts=1),
            dy.Retry(max_delay_s=60, jitter=True),
        ],
        catch=dy.Catch(steps.Publish("Alert", "ops", dy.path("$.error")), result_path="$.error"),
    )
    states = dy.Pipeline("p", train).definition()["States"]

    assert states["Train"]["Resource"] == "dockyard:train.sync"
    assert states["Train"]["Parameters"] == {"algorithm": "xgboost"}
    assert states["Train"]["Retry"] == [
        {
            "ErrorEquals": ["States.Timeout"],
            "IntervalSeconds": 5,
            "MaxAttempts": 1,
            "BackoffRate": 2.0,
        },
        {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 60,
            "JitterStrategy": "FULL",
        },
    ]
    assert states["Train"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "Next": "Alert", "ResultPath": "$.error"}
    ]
    assert states["Alert"]["Parameters"] == {"TopicArn": "ops", "Message.$": "$.error"}
    assert states["Alert"]["End"] is True


def test_a_callback_task_waits_for_its_token() -> None:
    step = steps.WaitForCallback(
        "Approve",
        "dockyard:function:ask",
        parameters={"Token": dy.path("$$.Task.Token")},
        heartbeat_s=60,
        timeout_s=3600,
    )
    state = dy.Pipeline("p", step).definition()["States"]["Approve"]

    assert state["Resource"] == "dockyard:function:ask.waitForTaskToken"
    assert (state["HeartbeatSeconds"], state["TimeoutSeconds"]) == (60, 3600)


def test_the_same_step_object_may_be_reached_twice_with_one_continuation() -> None:
    notify = steps.Pass("Notify")
    gate = steps.Choice("C").when(dy.Condition("$.a") > 1, notify).otherwise(notify)

    states = dy.Pipeline("p", gate).definition()["States"]

    assert states["C"]["Choices"][0]["Next"] == "Notify" == states["C"]["Default"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: steps.Pass("A") >> steps.Pass("A"), "two states are named 'A'"),
        (lambda: steps.Succeed("End") >> steps.Pass("B"), "nothing can follow 'End'"),
        (lambda: steps.Choice("Empty"), "needs at least one .when"),
        (lambda: steps.Wait("W", seconds=1, timestamp="x"), "exactly one of seconds"),
        (lambda: steps.Wait("W"), "exactly one of seconds"),
        (lambda: steps.Pass("x" * 81), "1 to 80 characters"),
        (lambda: steps.Parallel("P", []), "at least one branch"),
        (lambda: dy.Condition("$.a") > [1], "not list"),
        (lambda: dy.Condition("$.a") > True, "only be compared with =="),
        (lambda: dy.Condition("$.a") >= dy.Condition("$.b"), r"give dy.path\('\$.b'\)"),
        (lambda: dy.Condition("$.a", kind="Number"), "kind is one of"),
        (
            lambda: steps.Choice("C").when(dy.Condition("$.a"), steps.Pass("X")),
            "needs a comparison",
        ),
        (lambda: steps.Pass("P", parameters={"a": [dy.path("$.x")]}), "value of a field"),
    ],
)
def test_mistakes_are_named_before_the_server_sees_them(build, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        dy.Pipeline("p", build()).definition()


def test_every_document_built_here_passes_the_servers_rules() -> None:
    """Each pipeline above, compiled, is valid States Language as the server checks it."""
    gate = steps.Choice("Good").when(dy.Condition("$.rmse") < 3.0, steps.Pass("Register"))
    each = steps.Map("Each", steps.Function("Score", "score"), items_path="$.items")
    fan = steps.Parallel("Fan", [steps.Pass("L"), steps.Wait("Nap", seconds=1)])
    train = steps.Train("Train", {}, catch=dy.Catch(steps.Fail("Broken")), retry=dy.Retry())
    pipeline = dy.Pipeline("p", train >> gate >> each >> fan >> steps.Succeed("Done"))

    assert validate(pipeline.definition()) == []


def test_a_document_the_server_would_refuse_is_refused_here() -> None:
    bad = steps.Pass("A", input_path="not a path")

    with pytest.raises(DefinitionInvalid, match="/States/A/InputPath"):
        dy.Pipeline("p", bad).definition()


@pytest.mark.parametrize(
    ("build", "field", "expected"),
    [
        (lambda: dy.Catch(["States.ALL"], steps.Fail("X")), "then", "Catch(then, errors="),
        (lambda: dy.Catch(steps.Fail("X"), errors="States.ALL"), "errors", "list of error names"),
        (lambda: steps.Map("M", "notastep"), "iterator", "a step"),
        (lambda: steps.Parallel("P", steps.Pass("A")), "branches", "a list"),
        (lambda: steps.Parallel("P", ["A"]), "branches", "a step"),
        (lambda: steps.Choice("C").when("$.a > 1", steps.Pass("A")), "condition", "Condition"),
        (lambda: steps.Choice("C").otherwise("A"), "otherwise", "a step"),
        (lambda: steps.Pass("A") >> "B", "steps", "a step"),
        (lambda: dy.Pipeline("p", "A"), "steps", "a step"),
        (lambda: steps.Pass(7), "name", "a string"),
        (lambda: steps.Task("T", None), "resource", "a string"),
        (lambda: steps.WaitForCallback("T", None), "resource", "a string"),
        (lambda: steps.Function("F", score), "function", "registered name"),
        (lambda: steps.Pass("A", result_path=1), "result_path", "a string"),
        (lambda: steps.Task("T", "dockyard:train", retry="States.ALL"), "retry", "Retry"),
        (lambda: steps.Task("T", "dockyard:train", catch=steps.Fail("X")), "catch", "Catch"),
        (lambda: dy.Retry("States.ALL"), "errors", "list of error names"),
    ],
)
def test_a_wrong_argument_names_itself_and_what_it_takes(build, field: str, expected: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build()
    assert caught.value.field == field
    assert expected in caught.value.message


def score(event: dict) -> dict:
    return event


def test_the_builders_errors_are_all_invalid_argument() -> None:
    """A mistake the builder catches and one only the rules catch are the same kind of error
    (the rules' DefinitionInvalid is a subclass that lists each problem)."""
    with pytest.raises(InvalidArgument):
        dy.Pipeline("p", steps.Pass("A") >> steps.Pass("A")).definition()
    with pytest.raises(InvalidArgument) as caught:
        dy.Pipeline("p", steps.Pass("A", input_path="nope")).definition()
    assert isinstance(caught.value, DefinitionInvalid) and caught.value.problems
