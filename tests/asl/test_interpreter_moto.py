"""Differential tests: the same definitions through moto's Step Functions engine (a port of
LocalStack's) and through ours must give the same output.

Where moto differs from AWS the definitions here avoid the case, and it is noted: moto returns
a bare string output unencoded (``yes`` rather than ``"yes"``), and reads ``$[1].y`` on an array
as a list (``["why"]``) where AWS's Jayway JSONPath gives the single value of a definite path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.asl.shell import execute

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

DEFINITIONS: dict[str, tuple[dict[str, Any], Any]] = {
    "pass-data-flow": (
        {
            "StartAt": "Pick",
            "States": {
                "Pick": {
                    "Type": "Pass",
                    "InputPath": "$.product",
                    "Parameters": {
                        "size.$": "$.details.size",
                        "all.$": "$.tags[*]",
                        "fixed": [1, {"a": 2}],
                    },
                    "ResultPath": "$.picked",
                    "Next": "Out",
                },
                "Out": {"Type": "Pass", "OutputPath": "$.picked", "End": True},
            },
        },
        {"product": {"details": {"size": "small"}, "tags": ["x", "y"]}},
    ),
    "choice": (
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.s", "StringMatches": "log-*.txt", "Next": "No"},
                        {
                            "And": [
                                {"Variable": "$.n", "NumericGreaterThanEquals": 10},
                                {"Variable": "$.t", "TimestampLessThan": "2030-01-01T00:00:00Z"},
                                {"Not": {"Variable": "$.b", "BooleanEquals": False}},
                                {"Variable": "$.missing", "IsPresent": False},
                            ],
                            "Next": "Yes",
                        },
                    ],
                    "Default": "No",
                },
                "Yes": {"Type": "Pass", "Result": {"r": "yes"}, "End": True},
                "No": {"Type": "Pass", "Result": {"r": "no"}, "End": True},
            },
        },
        {"s": "data.csv", "n": 12, "t": "2026-01-01T00:00:00Z", "b": True},
    ),
    "map": (
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemSelector": {
                        "i.$": "$$.Map.Item.Index",
                        "v.$": "$$.Map.Item.Value",
                        "k.$": "$.k",
                    },
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "P",
                        "States": {
                            "P": {
                                "Type": "Pass",
                                "ResultPath": "$.seen",
                                "Result": True,
                                "End": True,
                            }
                        },
                    },
                    "ResultPath": "$.out",
                    "End": True,
                }
            },
        },
        {"items": [{"a": 1}, {"a": 2}, {"a": 3}], "k": "key"},
    ),
    "parallel": (
        {
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "A",
                            "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": True}},
                        },
                        {
                            "StartAt": "B",
                            "States": {
                                "B": {"Type": "Pass", "Parameters": {"y.$": "$.y"}, "Next": "B2"},
                                "B2": {"Type": "Succeed"},
                            },
                        },
                    ],
                    "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                    "End": True,
                }
            },
        },
        {"x": [1, 2], "y": "why"},
    ),
}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        patch.setenv(name, value)
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")
    patch.undo()


def moto_output(client: Any, name: str, definition: dict[str, Any], data: Any) -> Any:
    arn = client.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    before = set(threading.enumerate())
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(data))["executionArn"]
    for thread in set(threading.enumerate()) - before:  # moto runs the execution in a thread
        if thread.ident is not None:
            thread.join(timeout=30)
    described = client.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_outputs_match_moto(client: Any, name: str) -> None:
    definition, data = DEFINITIONS[name]
    ours = execute(definition, data)
    assert ours.step.status == "SUCCEEDED"
    assert ours.step.output == moto_output(client, name, definition, data)
