"""The worked examples of AWS's "Processing input and output" guide, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.asl import dataflow
from dockyard.asl.errors import StatesError

PRODUCT = {
    "comment": "Example for Parameters.",
    "product": {
        "details": {"color": "blue", "size": "small", "material": "cotton"},
        "availability": "in stock",
        "sku": "2317",
        "cost": "$23",
    },
}


def fill(spec: Any, data: Any) -> Any:
    return dataflow.template(spec, data, context={"Execution": {"Name": "e"}}, variables={})


def test_parameters_select_and_keep_static_values() -> None:
    parameters = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert fill(parameters, PRODUCT) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_parameters_read_the_context_object_and_lists() -> None:
    spec = {"name.$": "$$.Execution.Name", "all": [{"c.$": "$.product.cost"}]}
    assert fill(spec, PRODUCT) == {"name": "e", "all": [{"c": "$23"}]}


def test_a_missing_parameter_path_is_a_runtime_error_quoting_path_field_and_input() -> None:
    with pytest.raises(StatesError) as caught:
        fill({"x.$": "$.nope"}, {"a": 1})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input "
        "'{\"a\":1}'"
    )


def test_result_selector_example() -> None:
    result = {
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"},
    }
    selected = fill(
        {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, result
    )
    assert selected == {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}
    state_input = {"comment": "c"}
    assert dataflow.result_path({"ResultPath": "$.EMROutput"}, state_input, selected) == {
        "comment": "c",
        "EMROutput": selected,
    }


RESULT_PATH_INPUT = {
    "comment": "This is a test of the input and output of a Task state.",
    "details": "Default example",
    "who": "AWS Step Functions",
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, "Hello, AWS Step Functions!"),
        ({"ResultPath": "$"}, "Hello, AWS Step Functions!"),
        ({"ResultPath": None}, RESULT_PATH_INPUT),
        (
            {"ResultPath": "$.taskresult"},
            {**RESULT_PATH_INPUT, "taskresult": "Hello, AWS Step Functions!"},
        ),
        (
            {"ResultPath": "$.details"},
            {**RESULT_PATH_INPUT, "details": "Hello, AWS Step Functions!"},
        ),
    ],
)
def test_result_path_examples(spec: dict[str, Any], expected: Any) -> None:
    assert dataflow.result_path(spec, RESULT_PATH_INPUT, "Hello, AWS Step Functions!") == expected


def test_input_and_output_paths() -> None:
    data = {"lambda": {"who": "AWS Step Functions"}, "data": {"val1": 23}}
    assert dataflow.select("$.lambda", data, context={}, variables={}) == {
        "who": "AWS Step Functions"
    }
    assert dataflow.select(None, data, context={}, variables={}) == {}
    spec = {"OutputPath": "$.data"}
    assert dataflow.output_path(spec, data, context={}, variables={}) == {"val1": 23}
    with pytest.raises(StatesError) as caught:
        dataflow.select("$.absent.x", data, context={}, variables={})
    assert caught.value.cause == "Invalid path '$.absent.x' : No results for path: $['absent']['x']"


def test_assign_computes_every_value_from_the_same_data() -> None:
    assigned = dataflow.assign(
        {"total.$": "$.n", "label": "fixed", "prev.$": "$total"},
        {"n": 5},
        context={},
        variables={"total": 1},
    )
    assert assigned == {"total": 5, "label": "fixed", "prev": 1}
