"""Pipeline function calls of a server whose executor is Ray, on the three-node cluster.

Each call is a Ray task spread over the nodes, so a Map's calls fan out across them; it runs as a
cold call on the server would (its own session, the address-space limit, none of the server's
settings), a timeout kills it on its node, and a call whose node is lost runs again on another.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.server.jobs.conftest import wait_gone
from tests.server.notifications._receiver import until
from tests.server.pipelines._live import stepfunctions
from tests.services.ray_cluster import RayCluster
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.server.pipelines._task_functions import FunctionTask
from dockyard.server.pipelines._tasks import Failed, Succeeded
from dockyard.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.ray_cluster]
_FUNCTIONS = "tests.server.pipelines._functions"


@pytest.fixture
def task(ray_cluster: RayCluster, tmp_path: Path) -> Iterator[FunctionTask]:
    made = FunctionTask(
        Settings(
            home=tmp_path / "home",
            executor="ray",
            ray_address=ray_cluster.address,
            pipeline_functions={
                name: f"{_FUNCTIONS}:{name}" for name in ("environment", "whoami", "block", "hold")
            },
            pipeline_function_memory_mb=400,
            pipeline_function_timeout_s=20,
        )
    )
    yield made
    made.close()


def test_calls_fan_out_over_the_nodes_each_as_a_cold_call(
    task: FunctionTask, ray_cluster: RayCluster
) -> None:
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda i: task.invoke("environment", {}, f"k{i}"), range(4)))
    assert all(isinstance(s, Succeeded) for s in seen), seen
    envs: list[dict[str, Any]] = [s.output for s in seen]  # type: ignore[union-attr]
    workers = {node.node_id for node in ray_cluster.workers()}
    assert {env["DOCKYARD_FUNCTION_NODE"] for env in envs} == workers  # both, not the head
    # The call's own variables, and none of the server's settings.
    assert {k for env in envs for k in env} == {
        "DOCKYARD_FUNCTION_NAME",
        "DOCKYARD_TASK_KEY",
        "DOCKYARD_FUNCTION_NODE",
    }
    me = task.invoke("whoami", {}, "who")
    assert isinstance(me, Succeeded)
    assert me.output["sid"] == me.output["pid"]  # a session of its own
    assert me.output["as_limit"] == 400 * 1024 * 1024


def test_a_call_past_its_timeout_is_killed_on_its_node(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    short = FunctionTask(
        Settings(
            home=tmp_path / "home",
            executor="ray",
            ray_address=ray_cluster.address,
            pipeline_functions={"block": f"{_FUNCTIONS}:block"},
            pipeline_function_timeout_s=3,
        )
    )
    pid_file = tmp_path / "pid"
    try:
        answer = short.invoke("block", {"pid": str(pid_file)}, "k")
    finally:
        short.close()
    assert isinstance(answer, Failed) and answer.error == "States.Timeout", answer
    assert not psutil.pid_exists(int(pid_file.read_text()))


def test_a_call_whose_node_is_lost_runs_again_on_another(
    task: FunctionTask, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    import ray

    # The call must be able to run again on the worker left: nothing an earlier test started
    # (on this module's or another's server) may still hold that node's one CPU.
    until(lambda: ray.available_resources().get("CPU", 0) >= 2, 60, "both workers idle")
    log, release = tmp_path / "starts", tmp_path / "release"
    answers: list[Any] = []
    call = threading.Thread(
        target=lambda: answers.append(
            task.invoke("hold", {"log": str(log), "release": str(release)}, "k")
        )
    )
    call.start()
    try:
        first = until(lambda: _starts(log)[:1] or None, 60, "the call started")[0]
        node = next(n for n in ray_cluster.workers() if n.node_id == first[1])
        ray_cluster.remove(node)
        wait_gone([psutil.Process(first[0])], timeout=30)  # the call went with its node
        second = until(lambda: _starts(log)[1:2] or None, 60, "the call again")[0]
        assert second[1] != first[1]
    finally:
        release.touch()
        call.join(60)
        ray_cluster.add_worker()  # back to two workers for what follows
    assert answers == [Succeeded(second[1])]


def _starts(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [
        (int(pid), node)
        for pid, node in (line.split() for line in log.read_text().splitlines() if line.strip())
    ]


def test_functions_run_on_the_server_without_the_ray_executor(tmp_path: Path) -> None:
    local = FunctionTask(
        Settings(
            home=tmp_path / "home", pipeline_functions={"environment": f"{_FUNCTIONS}:environment"}
        )
    )
    try:
        answer = local.invoke("environment", {}, "k")
    finally:
        local.close()
    assert isinstance(answer, Succeeded) and "DOCKYARD_FUNCTION_NODE" not in answer.output
    assert os.environ.get("DOCKYARD_FUNCTION_NODE") is None


def test_a_maps_calls_spread_over_the_nodes_of_a_server_on_ray(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    functions = json.dumps({"environment": f"{_FUNCTIONS}:environment"})
    server = ServerProcess(
        tmp_path / "home",
        env={
            **ray_cluster.environment(),
            "DOCKYARD_EXECUTOR": "ray",
            "DOCKYARD_PIPELINE_FUNCTIONS": functions,
        },
    )
    server.start()
    sfn = stepfunctions(server.url)
    client = Client(server.url, retry_for=5)
    try:
        machine = sfn.create_state_machine(
            name="fan-out",
            roleArn="arn:aws:iam::123456789012:role/dockyard",
            definition=json.dumps(
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 4,
                            "ItemProcessor": {
                                "StartAt": "Where",
                                "States": {
                                    "Where": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:states:::lambda:invoke",
                                        "Parameters": {"FunctionName": "environment"},
                                        "OutputPath": "$.Payload.DOCKYARD_FUNCTION_NODE",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                }
            ),
        )["stateMachineArn"]
        arn = sfn.start_execution(
            stateMachineArn=machine, input=json.dumps({"items": [1, 2, 3, 4, 5, 6]})
        )["executionArn"]
        name = arn.rsplit(":", 1)[-1]

        def ended() -> dict[str, Any] | None:
            found: dict[str, Any] = client.request(
                "GET", f"/api/v1/pipelines/fan-out/executions/{name}", params={"wait": 10}
            )
            return found if found["status"] != "RUNNING" else None

        execution = until(ended, 120, "the execution's end")
    finally:
        client.close()
        sfn.close()
        server.stop()
    assert execution["status"] == "SUCCEEDED", execution
    nodes = json.loads(execution["output"])
    assert len(nodes) == 6
    assert set(nodes) == {node.node_id for node in ray_cluster.workers()}
