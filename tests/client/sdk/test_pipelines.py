"""The pipeline functions of the SDK: what they are given is checked, and named, before anything
is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

import dockyard as dy
from dockyard.errors import InvalidArgument


def test_a_definition_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.asl.json"
    for given in (missing, str(missing)):
        with pytest.raises(InvalidArgument, match="cannot read the definition file") as refused:
            dy.create_pipeline("p", given)
        assert refused.value.field == "definition" and str(missing) in refused.value.message
    with pytest.raises(InvalidArgument, match="got list") as refused:
        dy.create_pipeline("p", [{"StartAt": "A"}])  # type: ignore[arg-type]
    assert refused.value.field == "definition"
    with pytest.raises(InvalidArgument, match="definition is not JSON"):
        dy.validate_pipeline({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {1}}}})


@pytest.mark.parametrize("value", [{"tags": {"a", "b"}}, {"rmse": float("nan")}])
def test_an_input_or_output_that_is_not_json_is_named(value: object) -> None:
    with pytest.raises(InvalidArgument, match="input is not JSON") as refused:
        dy.start_execution("p", value)
    assert refused.value.field == "input"
    with pytest.raises(InvalidArgument, match="output is not JSON") as refused:
        dy.send_task_success("token", value)
    assert refused.value.field == "output"


def test_an_execution_arn_of_another_state_machine_is_refused_before_anything_is_sent() -> None:
    # its name alone would name an execution of the pipeline given, which could exist
    other = "arn:aws:states:eu-west-1:123456789012:execution:nightly:run-1"
    calls = (
        lambda: dy.describe_execution("retrain", other),
        lambda: dy.stop_execution("retrain", other),
        lambda: dy.redrive_execution("retrain", other),
        lambda: dy.execution_history("retrain", other),
        lambda: dy.describe_execution(
            "arn:aws:states:us-east-1:000000000000:stateMachine:retrain", other
        ),
    )
    for call in calls:
        with pytest.raises(
            InvalidArgument, match="of state machine 'nightly', not of 'retrain'"
        ) as refused:
            call()
        assert refused.value.field == "execution"
    with pytest.raises(InvalidArgument, match="is not an execution ARN"):
        dy.describe_execution("retrain", "arn:aws:states:us-east-1:1:stateMachine:retrain")
