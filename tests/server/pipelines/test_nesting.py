"""Deeply nested JSON in pipelines, on the real States Language core through boto3: a definition,
an execution's input, a callback's output and a state's result each have a nesting limit and are
refused by name (400, or the execution failing with ``States.DataLimitExceeded``), never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.server.pipelines._live import served, stepfunctions

from dockyard.asl.history import MAX_DEPTH
from dockyard.server._services import Services
from dockyard.settings import Settings

ROLE = "arn:aws:iam::0:role/x"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    made = Services.from_settings(Settings(home=tmp_path / "home", scheduler=True))
    with served(made) as url:
        yield url
    made.close()


@pytest.fixture
def sfn(live: str) -> Iterator[Any]:
    client = stepfunctions(live)
    yield client
    client.close()


def _ended(url: str, execution_arn: str) -> dict[str, Any]:
    machine, name = execution_arn.split(":")[6:8]
    answer = httpx.get(
        f"{url}/api/v1/pipelines/{machine}/executions/{name}", params={"wait": 30}, timeout=40
    )
    found: dict[str, Any] = answer.json()
    return found


@pytest.mark.parametrize("levels", [MAX_DEPTH + 10, 300, 3000])
def test_a_definition_nested_too_deep_is_an_invalid_definition(sfn: Any, levels: int) -> None:
    definition = (
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true, "Parameters": '
        + nested(levels)
        + "}}}"
    )
    with pytest.raises(ClientError) as caught:
        sfn.create_state_machine(name="deep", definition=definition, roleArn=ROLE)
    assert caught.value.response["Error"]["Code"] == "InvalidDefinition"
    assert f"nests deeper than {MAX_DEPTH} levels" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 1000])
def test_an_input_nested_too_deep_is_refused_by_name(sfn: Any, levels: int) -> None:
    arn = sfn.create_state_machine(name="p", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=arn, input=nested(levels))
    assert caught.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert f"nests deeper than {MAX_DEPTH} levels" in caught.value.response["Error"]["Message"]
    ok = sfn.start_execution(stateMachineArn=arn, input=nested(MAX_DEPTH - 1))
    assert sfn.describe_execution(executionArn=ok["executionArn"])["status"] == "SUCCEEDED"


def test_a_result_that_nests_deeper_each_turn_fails_its_execution(live: str, sfn: Any) -> None:
    """Each turn of the loop wraps the data in three more levels: the state whose result
    passes the limit fails the execution, which says why; the server goes on."""
    wrap = {
        "StartAt": "Wrap",
        "States": {
            "Wrap": {"Type": "Pass", "Parameters": {"a": {"b": {"c.$": "$"}}}, "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "Wrap",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = sfn.create_state_machine(name="wrap", definition=json.dumps(wrap), roleArn=ROLE)
    started = sfn.start_execution(stateMachineArn=arn["stateMachineArn"], input="{}")
    found = _ended(live, started["executionArn"])
    assert found["status"] == "FAILED", found
    assert found["error"] == "States.DataLimitExceeded"
    assert f"nested deeper than {MAX_DEPTH} levels" in found["cause"]
    plain = sfn.create_state_machine(name="p", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    after = sfn.start_execution(stateMachineArn=plain, input='{"x": 1}')
    assert _ended(live, after["executionArn"])["status"] == "SUCCEEDED"
