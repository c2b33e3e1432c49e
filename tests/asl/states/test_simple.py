from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.asl.shell import NOW, chain, execute


def test_pass_result_result_path_and_output_path() -> None:
    definition = chain(
        ("Set", {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.set"}),
        (
            "Pick",
            {
                "Type": "Pass",
                "Parameters": {"v.$": "$.set.x", "n.$": "$$.State.Name"},
                "ResultPath": "$.p",
                "OutputPath": "$.p",
            },
        ),
    )
    run = execute(definition, {"keep": True})
    assert run.step.status == "SUCCEEDED"
    assert run.step.output == {"v": 1, "n": "Pick"}
    assert run.types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    entered = run.details("PassStateEntered")[0]["stateEnteredEventDetails"]
    assert entered == {
        "name": "Set",
        "input": '{"keep":true}',
        "inputDetails": {"truncated": False},
    }


CHOICE = {
    "Type": "Choice",
    "Choices": [
        {"Variable": "$.n", "NumericLessThan": 0, "Next": "Negative"},
        {
            "And": [
                {"Variable": "$.n", "NumericGreaterThanEquals": 0},
                {"Variable": "$.n", "NumericLessThan": 10},
            ],
            "Next": "Small",
        },
    ],
    "Default": "Large",
}


@pytest.mark.parametrize(("n", "branch"), [(-5, "Negative"), (3, "Small"), (50, "Large")])
def test_choice_takes_the_first_matching_rule_or_the_default(n: int, branch: str) -> None:
    definition = {
        "StartAt": "Decide",
        "States": {
            "Decide": CHOICE,
            **{
                name: {"Type": "Pass", "Result": name, "End": True}
                for name in ("Negative", "Small", "Large")
            },
        },
    }
    assert execute(definition, {"n": n}).step.output == branch


def test_choice_without_match_or_default_fails_with_no_choice_matched() -> None:
    definition = {
        "StartAt": "Decide",
        "States": {
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Done"}],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    run = execute(definition, {"n": 2})
    assert run.step.status == "FAILED"
    assert run.step.error == "States.NoChoiceMatched"  # the error the spec names
    assert run.step.cause == (
        "An error occurred while executing the state 'Decide' (entered at the event id #2). "
        "No Choices rule matched the input, and the state has no Default"
    )


@pytest.mark.parametrize(
    ("spec", "data", "seconds"),
    [
        ({"Seconds": 10}, {}, 10),
        ({"SecondsPath": "$.wait"}, {"wait": 30}, 30),
        ({"Timestamp": "2026-01-01T01:00:00Z"}, {}, 3600),
        ({"TimestampPath": "$.until"}, {"until": "2026-01-01T00:00:05Z"}, 5),
    ],
)
def test_wait_starts_a_timer_due_when_asked(spec: dict[str, Any], data: Any, seconds: int) -> None:
    run = execute(chain(("Nap", {"Type": "Wait", **spec}), ("Done", {"Type": "Pass"})), data)
    assert run.step.status == "SUCCEEDED"
    assert [timer.due for timer in run.timers] == [NOW + timedelta(seconds=seconds)]
    assert run.types[1:5] == [
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
    ]


@pytest.mark.parametrize(
    ("spec", "data", "words"),
    [
        ({"SecondsPath": "$.s"}, {"s": 1e300}, "more than 99999999"),
        ({"SecondsPath": "$.s"}, {"s": 10**30}, "more than 99999999"),
        ({"SecondsPath": "$.s"}, {"s": 100_000_000}, "more than 99999999"),
        ({"TimestampPath": "$.t"}, {"t": "9999-12-31T23:59:59-23:59"}, "years 1 to 9999"),
        ({"TimestampPath": "$.t"}, {"t": "0001-01-01T00:00:00+23:59"}, "years 1 to 9999"),
    ],
)
def test_a_wait_out_of_range_fails_the_state(spec: dict[str, Any], data: Any, words: str) -> None:
    # Each used to raise OverflowError out of the interpreter: a 500 for StartExecution, and,
    # reached later, a timer the server could never fire, retried on every pass before others.
    run = execute(chain(("Nap", {"Type": "Wait", **spec})), data)
    assert (run.step.status, run.step.error) == ("FAILED", "States.Runtime")
    assert words in (run.step.cause or "")
    assert run.timers == []


def test_a_jsonata_wait_out_of_range_fails_the_state() -> None:
    nap = {"Type": "Wait", "Seconds": "{% $states.input.s %}"}
    run = execute(chain(("Nap", nap), QueryLanguage="JSONata"), {"s": 1e300})
    assert (run.step.status, run.step.error) == ("FAILED", "States.Runtime")


def test_a_timestamp_already_past_goes_on_at_once() -> None:
    run = execute(chain(("Nap", {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z"})))
    assert run.step.status == "SUCCEEDED"
    assert run.timers == []


def test_fail_state_error_and_cause_from_paths() -> None:
    definition = chain(("Stop", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}))
    run = execute(definition, {"e": "Bad.Thing", "c": "because"})
    assert (run.step.status, run.step.error, run.step.cause) == ("FAILED", "Bad.Thing", "because")
    assert run.types == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert run.details("ExecutionFailed") == [
        {"executionFailedEventDetails": {"error": "Bad.Thing", "cause": "because"}}
    ]


def test_succeed_applies_input_and_output_paths() -> None:
    run = execute(
        chain(("Ok", {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"})), {"a": {"b": 2}}
    )
    assert run.step.output == 2


def test_variables_assigned_in_jsonpath_mode_are_read_later() -> None:
    definition = chain(
        ("Remember", {"Type": "Pass", "Assign": {"threshold.$": "$.limit", "label": "x"}}),
        ("Use", {"Type": "Pass", "Parameters": {"t.$": "$threshold", "l.$": "$label"}}),
    )
    run = execute(definition, {"limit": 7})
    assert run.step.output == {"t": 7, "l": "x"}
    exited = run.details("PassStateExited")[0]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"threshold": "7", "label": '"x"'}


def test_a_path_that_selects_nothing_fails_the_execution() -> None:
    run = execute(chain(("P", {"Type": "Pass", "InputPath": "$.missing"})), {"a": 1})
    assert run.step.error == "States.Runtime"
    assert run.step.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "Invalid path '$.missing' : No results for path: $['missing']"
    )


def test_output_over_256_kib_is_data_limit_exceeded() -> None:
    big = "x" * (256 * 1024)
    run = execute(chain(("Grow", {"Type": "Pass", "Result": big})))
    assert run.step.error == "States.DataLimitExceeded"


def test_a_thousand_pass_states_run_in_one_call() -> None:
    states = [(f"S{i}", {"Type": "Pass", "Result": i, "ResultPath": "$.last"}) for i in range(1000)]
    run = execute(chain(*states), {})
    assert run.step.status == "SUCCEEDED"
    assert run.step.output == {"last": 999}
    assert len(run.events) == 2002
    assert len(json.dumps(run.step.state)) < 200_000
