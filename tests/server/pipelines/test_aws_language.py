"""The States Language as Step Functions runs it, through boto3's own ``stepfunctions`` client
against a live server on the real core: state machines written for AWS, run unchanged, give
what AWS documents (errors, their names and where Retry and Catch take them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.server.pipelines._live import served, stepfunctions

from dockyard.server._services import Services
from dockyard.settings import Settings


@pytest.fixture
def sfn(tmp_path: Path) -> Iterator[Any]:
    """boto3's client against a server on the real core and its engine loop."""
    made = Services.from_settings(
        Settings(
            home=tmp_path / "home",
            data_roots=[str(tmp_path)],
            pipeline_functions={"large": "tests.server.pipelines._functions:large"},
            scheduler=True,  # the engine loop carries out function calls
        )
    )
    with served(made) as url:
        client = stepfunctions(url, read_timeout=30)
        yield client
        client.close()
    made.close()


def run(sfn: Any, definition: dict[str, Any], given: Any) -> dict[str, Any]:
    """``definition`` run once as an EXPRESS machine, answered when it ended."""
    name = f"m{abs(hash(json.dumps(definition, sort_keys=True))) % 10**12}"
    arn = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="r", type="EXPRESS"
    )["stateMachineArn"]
    answer: dict[str, Any] = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps(given))
    return answer


#: Two branches whose outputs together are over the 256 KiB a state's result may be.
TWO_BIG_BRANCHES = [
    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
    {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}},
]


@pytest.mark.parametrize(
    ("errors", "caught"),
    [
        (["States.DataLimitExceeded"], True),
        (["Other", "States.DataLimitExceeded"], True),
        (["States.ALL"], False),
        (["States.TaskFailed"], False),
    ],
)
def test_data_limit_exceeded_is_caught_by_its_own_name_only(
    sfn: Any, errors: list[str], caught: bool
) -> None:
    # AWS: "a terminal error that can't be caught by the States.ALL error type"; a Catcher
    # naming it takes it (the error output goes on to its Next, as any caught error's does)
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": TWO_BIG_BRANCHES,
                "ResultPath": "$.both",
                "Catch": [{"ErrorEquals": errors, "ResultPath": "$.error", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "OutputPath": "$.error", "End": True},
        },
    }
    answer = run(sfn, definition, {"text": "x" * 150_000})
    if caught:
        assert answer["status"] == "SUCCEEDED", answer
        error = json.loads(answer["output"])
        assert error["Error"] == "States.DataLimitExceeded"
        assert "exceeding the maximum number of bytes service limit" in error["Cause"]
    else:
        assert (answer["status"], answer["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_states_runtime_is_caught_by_no_name(sfn: Any) -> None:
    # AWS: "A States.Runtime error isn't retriable, and will always cause the execution to fail"
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": TWO_BIG_BRANCHES,
                "OutputPath": "$.missing",
                "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Succeed"},
        },
    }
    answer = run(sfn, definition, {})
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")


def test_a_refused_definition_is_worded_as_aws_words_it(sfn: Any) -> None:
    # AWS: "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field ... at
    # /States/A/Type, ...'": each problem's code, message and place, the list quoted
    two = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Bogus", "End": True}},
    }
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name="two", definition=json.dumps(two), roleArn="r")
    said = refused.value.response["Error"]["Message"]
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert said.startswith("Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: "), said
    assert said.endswith("'"), said
    assert "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next" in said
    assert re.search(r", SCHEMA_VALIDATION_FAILED: [^']*'Bogus'.* at /States/B/Type'$", said), said
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(name="notjson", definition="{", roleArn="r")
    said = refused.value.response["Error"]["Message"]
    assert said.startswith("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: "), said
    # UpdateStateMachine words it the same way
    arn = sfn.create_state_machine(
        name="fine",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        roleArn="r",
    )["stateMachineArn"]
    with pytest.raises(ClientError) as refused:
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(two))
    assert refused.value.response["Error"]["Message"].startswith(
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: "
    )


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        (
            "$substring('abc', 'x')",
            "Argument 1 of function substring does not match function signature",
        ),
        ("$reduce([1, 2], function($a) { $a })", "must be a function with at least two arguments"),
        ("$single([1, 2])", "The $single() function expected exactly 1 matching result"),
        ("$sum(['a'])", "Argument 1 of function sum must be an array of numbers"),
        ("$join([1])", "Argument 1 of function join must be an array of strings"),
        ("$number(null)", "An argument of function number does not match function signature"),
        ("$abs(null)", "a function was given null where its signature does not take it"),
    ],
)
def test_a_jsonata_error_names_the_function_it_is_about(
    sfn: Any, expression: str, said: str
) -> None:
    # JSONata's own messages say "function" where the library's table says "Object"
    cause = _query_fails(sfn, expression)
    assert said in cause and "Object" not in cause, cause


def _query_fails(sfn: Any, expression: str) -> str:
    """The cause of the QueryEvaluationError a Pass state evaluating ``expression`` fails with."""
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Output": f"{{% {expression} %}}", "End": True}},
    }
    answer = run(sfn, definition, {})
    assert (answer["status"], answer["error"]) == ("FAILED", "States.QueryEvaluationError")
    return str(answer["cause"])


@pytest.mark.parametrize(
    ("resource", "named"),
    [
        ("arn:aws:states:::lambda:invoke", "lambda"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:large",
            "arn:aws:lambda:us-east-1:123456789012:function:large",
        ),
    ],
)
def test_a_function_answering_over_the_limit_fails_in_aws_words(
    sfn: Any, resource: str, named: str
) -> None:
    # as AWS records it: "The state/task 'lambda' returned a result with a size exceeding the
    # maximum number of bytes service limit." (the function's ARN for a Lambda ARN resource)
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"FunctionName": "large", "Payload": {"size": 300_000}},
                "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    if resource != "arn:aws:states:::lambda:invoke":
        definition["States"]["Invoke"]["Parameters"] = {"size": 300_000}  # type: ignore[index]
    answer = run(sfn, definition, {})
    assert answer["status"] == "SUCCEEDED", answer
    assert json.loads(answer["output"]) == {
        "Error": "States.DataLimitExceeded",
        "Cause": f"The state/task '{named}' returned a result with a size exceeding the "
        "maximum number of bytes service limit.",
    }


@pytest.mark.parametrize("errors", [["States.ALL"], ["States.TaskFailed"]])
def test_a_task_whose_result_is_over_the_limit_fails_as_a_task_does(
    sfn: Any, errors: list[str]
) -> None:
    # AWS records an oversized Lambda result as the task's failure (TaskFailed, then the
    # Catcher): a States.ALL Catcher takes it there, though not the state's own data over the
    # limit (above)
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "large", "Payload": {"size": 300_000}},
                "Catch": [{"ErrorEquals": errors, "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    answer = run(sfn, definition, {})
    assert answer["status"] == "SUCCEEDED", answer
    assert json.loads(answer["output"])["Error"] == "States.DataLimitExceeded"


@pytest.mark.parametrize("kind", ["Parallel", "Map"])
def test_an_error_inside_a_branch_keeps_the_cause_the_inner_state_gave(sfn: Any, kind: str) -> None:
    # the inner state's runtime error names that state; the Parallel or Map fails with the
    # same error and cause, not wrapped a second time in its own name
    inner = {
        "StartAt": "Inner",
        "States": {"Inner": {"Type": "Pass", "InputPath": "$.nope", "End": True}},
    }
    outer: dict[str, Any] = {"Type": kind, "End": True}
    if kind == "Parallel":
        outer["Branches"] = [inner]
    else:
        outer["ItemProcessor"] = inner
    answer = run(sfn, {"StartAt": "Outer", "States": {"Outer": outer}}, [{}])
    assert (answer["status"], answer["error"]) == ("FAILED", "States.Runtime")
    assert answer["cause"].startswith("An error occurred while executing the state 'Inner'"), (
        answer["cause"]
    )
    assert "'Outer'" not in answer["cause"], answer["cause"]


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("$number('x')", 'Unable to cast value to a number: "x" (code D3030)'),
        ("$number('1_000')", 'Unable to cast value to a number: "1_000" (code D3030)'),
        (
            "$toMillis('2020-13-45')",
            'ISO 8601 formatted timestamp. Given "2020-13-45" (code D3110)',
        ),
        ("$sort([1, 'a'])", "can only be applied to an array of strings or an array of numbers"),
        ("$power(-1, 0.5)", "cannot be represented as a JSON number: base=-1, exponent=0.5"),
        ("$power(10, 400)", "cannot be represented as a JSON number: base=10, exponent=400"),
        ("$decodeUrlComponent('%E0%A4%A')", "Malformed URL passed to $decodeUrlComponent()"),
    ],
)
def test_a_jsonata_function_refuses_a_value_in_jsonata_words(
    sfn: Any, expression: str, said: str
) -> None:
    # where JSONata raises its own error, the library raised Python's ("could not convert
    # string to float", "month must be in 1..12", "'<' not supported between instances")
    cause = _query_fails(sfn, expression)
    assert said in cause, cause


def test_jsonata_functions_still_answer_what_they_read(sfn: Any) -> None:
    expressions = {
        "n": "$number('-1.5e3')",
        "hex": "$number('0x1F')",
        "t": "$toMillis('2020-01-01T00:00:00Z')",
        "sorted": "$sort([3, 1, 2])",
        "by": "$sort([{'a': 2}, {'a': 1}], function($l, $r) { $l.a > $r.a })",
        "p": "$power(2, 3)",
        "url": "$decodeUrlComponent('a%20b')",
    }
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Compute",
        "States": {
            "Compute": {
                "Type": "Pass",
                "Output": {k: f"{{% {v} %}}" for k, v in expressions.items()},
                "End": True,
            }
        },
    }
    answer = run(sfn, definition, {})
    assert json.loads(answer["output"]) == {
        "n": -1500,
        "hex": 31,
        "t": 1577836800000,
        "sorted": [1, 2, 3],
        "by": [{"a": 1}, {"a": 2}],
        "p": 8,
        "url": "a b",
    }


def test_context_times_are_written_as_aws_writes_them(sfn: Any) -> None:
    # AWS's context object: "StartTime": "2019-03-26T20:14:13.192Z", milliseconds always
    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Times"},
            "Times": {
                "Type": "Pass",
                "Parameters": {
                    "started.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                },
                "End": True,
            },
        },
    }
    times = json.loads(run(sfn, definition, {})["output"])
    for text in times.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), times
