"""JSONata mode and intrinsic functions as the interpreter drives them."""

from __future__ import annotations

from typing import Any

from tests.asl.shell import Failure, chain, execute


def test_jsonata_task_arguments_output_and_assign() -> None:
    definition = chain(
        (
            "Score",
            {
                "Type": "Task",
                "Resource": "dockyard:score",
                "Arguments": {
                    "rows": "{% $states.input.rows %}",
                    "run": "{% $states.context.Execution.Name %}",
                },
                "Output": {"best": "{% $max($states.result.scores) %}"},
                "Assign": {"count": "{% $count($states.result.scores) %}"},
            },
        ),
        ("Report", {"Type": "Pass", "Output": "{% $states.input.best & '/' & $string($count) %}"}),
        QueryLanguage="JSONata",
    )
    payloads: list[Any] = []

    def tasks(resource: str, payload: Any) -> Any:
        payloads.append(payload)
        return {"scores": [0.5, 0.9, 0.7]}

    run = execute(definition, {"rows": 3}, tasks)
    assert payloads == [{"rows": 3, "run": "run-1"}]
    assert run.step.output == "0.9/3"


def test_jsonata_choice_condition_and_map_items() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $count($states.input.xs) > 2 %}", "Next": "Each"}],
                "Default": "Small",
            },
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {
                        "P": {"Type": "Pass", "Output": "{% $states.input.v %}", "End": True}
                    },
                },
                "End": True,
            },
            "Small": {"Type": "Succeed", "Output": "small"},
        },
    }
    assert execute(definition, {"xs": [1, 2, 3]}).step.output == [10, 20, 30]
    assert execute(definition, {"xs": [1]}).step.output == "small"
    # Items that are not an array are named as Items, not as the state's input
    definition["States"]["Big"]["Choices"][0]["Condition"] = "{% true %}"
    step = execute(definition, {"xs": {"a": 1}}).step
    assert (step.status, step.error) == ("FAILED", "States.Runtime")
    assert "Map state Items must evaluate to an array but was: object" in str(step.cause)


def test_jsonata_catch_sees_the_error_output() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "dockyard:work",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.errorOutput.Error %}",
                        "Next": "Done",
                    }
                ],
            },
            "Done": {"Type": "Succeed"},
        },
    }

    def tasks(resource: str, payload: Any) -> Any:
        raise Failure("Broke", "c")

    assert execute(definition, {}, tasks).step.output == "Broke"


def test_a_failing_jsonata_expression_is_a_query_evaluation_error() -> None:
    definition = chain(
        ("P", {"Type": "Pass", "Output": "{% $undefinedFn(1) %}"}), QueryLanguage="JSONata"
    )
    run = execute(definition, {})
    assert run.step.error == "States.QueryEvaluationError"
    assert (run.step.cause or "").startswith("An error occurred while executing the state 'P'")


def test_intrinsics_in_parameters() -> None:
    definition = chain(
        (
            "Build",
            {
                "Type": "Pass",
                "Parameters": {
                    "greeting.$": "States.Format('Hello, {}!', $.name)",
                    "parts.$": "States.ArrayLength($.list)",
                    "id.$": "States.UUID()",
                },
            },
        )
    )
    first = execute(definition, {"name": "Ada", "list": [1, 2]})
    output = first.step.output
    assert output["greeting"] == "Hello, Ada!" and output["parts"] == 2
    assert execute(definition, {"name": "Ada", "list": [1, 2]}).step.output["id"] == output["id"]


def test_jsonata_wait_seconds_and_parallel_arguments() -> None:
    definition = chain(
        ("Nap", {"Type": "Wait", "Seconds": "{% $states.input.n * 2 %}"}),
        (
            "Both",
            {
                "Type": "Parallel",
                "Arguments": {"n": "{% $states.input.n %}"},
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Pass",
                                "Output": "{% $states.input.n + 1 %}",
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {
                                "Type": "Pass",
                                "Output": "{% $states.input.n + 2 %}",
                                "End": True,
                            }
                        },
                    },
                ],
                "Output": "{% $sum($states.result) %}",
            },
        ),
        QueryLanguage="JSONata",
    )
    run = execute(definition, {"n": 5})
    assert [timer.due.second for timer in run.timers] == [10]
    assert run.step.output == 13
