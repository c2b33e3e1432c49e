"""Time limits on the real core through a live server: a Task's TimeoutSeconds ends a function
call that runs past it (its process killed), and a callback task not heard from within its
HeartbeatSeconds fails with States.HeartbeatTimeout."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.notifications._receiver import until
from tests.server.pipelines._live import served

from dockyard.client import sdk
from dockyard.client.http import Client
from dockyard.server._services import Services
from dockyard.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    made = Services.from_settings(
        Settings(
            home=tmp_path / "home",
            data_roots=[str(tmp_path)],
            scheduler=True,
            pipeline_functions={"block": "tests.server.pipelines._functions:block"},
        )
    )
    with served(made) as url, Client(url) as http:
        yield http
    made.close()


def run(client: Client, states: dict[str, Any], input: Any = None) -> Any:
    definition = {"StartAt": next(iter(states)), "States": states}
    sdk.create_pipeline("limits", definition, client=client)
    started = sdk.start_execution("limits", input or {}, client=client)
    return sdk.describe_execution("limits", started.execution_arn, wait=30, client=client)


def test_a_function_past_its_timeout_is_stopped(client: Client, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = {
        "Type": "Task",
        "Resource": "dockyard:function:block",
        "Parameters": {"pid": str(pid_file)},
        # Long enough for a fresh interpreter to start and note its pid on a loaded machine.
        "TimeoutSeconds": 5,
        "End": True,
    }
    ended = run(client, {"Block": task})
    assert (ended.status.value, ended.error) == ("FAILED", "States.Timeout")
    pid = int(pid_file.read_text())

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    until(gone, 30, "the function's process ending")


def test_a_silent_callback_task_times_out_on_its_heartbeat(client: Client) -> None:
    client.request("POST", "/api/v1/topics", json={"name": "asks"})
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"TopicArn": "asks", "Message": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 1,
        "End": True,
    }
    ended = run(client, {"Ask": task})
    assert (ended.status.value, ended.error) == ("FAILED", "States.HeartbeatTimeout")
    assert json.loads(ended.input) == {}


def test_an_express_execution_times_out_after_its_limit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in AWS, an Express execution runs at most five minutes (here shortened to one
    second), whatever its definition asks (TimeoutSeconds itself: tests/asl)."""
    monkeypatch.setattr("dockyard.server.pipelines._service.EXPRESS_MAX_S", 1)
    nap = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": True}}}
    for name, definition in (("quick", nap), ("asks-more", {**nap, "TimeoutSeconds": 3600})):
        sdk.create_pipeline(name, definition, type="EXPRESS", client=client)
        started = sdk.start_execution(name, {}, client=client)
        ended = sdk.describe_execution(name, started.execution_arn, wait=30, client=client)
        assert (ended.status.value, ended.error) == ("TIMED_OUT", "States.Timeout"), name
    # a Standard execution has no such limit: still waiting well past it
    sdk.create_pipeline("standard", nap, client=client)
    started = sdk.start_execution("standard", {}, client=client)
    waited = sdk.describe_execution("standard", started.execution_arn, wait=3, client=client)
    assert waited.status.value == "RUNNING"


def test_a_wait_past_the_longest_timer_fails_and_others_go_on(client: Client) -> None:
    # The Wait read a number no timer holds. It used to raise out of the interpreter as the
    # first timer fired, and the engine tried that timer again on every pass, first: no other
    # execution's timer fired any more.
    states = {
        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Long"},
        "Long": {"Type": "Wait", "SecondsPath": "$.s", "End": True},
    }
    sdk.create_pipeline("long", {"StartAt": "Nap", "States": states}, client=client)
    long = sdk.start_execution("long", {"s": 1e300}, client=client)
    ended = sdk.describe_execution("long", long.execution_arn, wait=30, client=client)
    assert (ended.status.value, ended.error) == ("FAILED", "States.Runtime")
    assert "more than 99999999" in (ended.cause or "")
    after = run(client, {"Nap": {"Type": "Wait", "Seconds": 1, "End": True}})
    assert after.status.value == "SUCCEEDED"
