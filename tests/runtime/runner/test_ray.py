"""Jobs of a server whose executor is Ray, on a three-node cluster with SeaweedFS as the store.

The code travels by URI (``s3://``): the runners, on whichever worker node Ray placed them, fetch
it through the store, as they would on machines of their own. A node killed under a running job
starts the job's next attempt on another node while its ``retry_strategy`` allows, and otherwise
fails the job saying so; no process of the lost node's runner is left running. A server whose
Ray settings cannot work refuses to start, naming the setting.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.server.jobs.conftest import SCRIPTS, behaviour, wait_for, wait_gone
from tests.server.notifications._receiver import until
from tests.server.tuning.conftest import ended, trials
from tests.services.ray_cluster import RayCluster
from tests.services.s3 import S3Server
from tests.services.server_process import ServerProcess, free_port, serve_until_it_exits

from dockyard.api.jobs import check_executor
from dockyard.client.http import Client
from dockyard.errors import InvalidArgument
from dockyard.runtime.runner._raydispatch import DISPATCHER
from dockyard.settings import Settings

pytestmark = pytest.mark.ray_cluster

_TUNING_SCRIPTS = Path(__file__).parents[2] / "server" / "tuning" / "scripts"


class Store:
    """The session's bucket: the server's artifact root and the jobs' code."""

    def __init__(self, s3: S3Server) -> None:
        self.s3 = s3
        self.bucket = s3.create_bucket("ray")
        for script in (SCRIPTS / "behaviours.py", _TUNING_SCRIPTS / "trial.py"):
            s3.client().upload_file(str(script), self.bucket, f"code/{script.name}")
        self.code = f"s3://{self.bucket}/code"


@pytest.fixture(scope="module")
def store(s3_server: S3Server) -> Store:
    return Store(s3_server)


@pytest.fixture(scope="module")
def ray_server(
    ray_cluster: RayCluster, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("ray-server") / "home",
        env={
            **ray_cluster.environment(),
            "DOCKYARD_EXECUTOR": "ray",
            "DOCKYARD_ARTIFACT_ROOT": f"s3://{store.bucket}/dockyard",
            "DOCKYARD_S3_ENDPOINT_URL": store.s3.endpoint_url,
            "DOCKYARD_DATA_ROOTS": f"s3://{store.bucket}",
            "DOCKYARD_JOB_STOP_GRACE_S": "2",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(ray_server: ServerProcess) -> Iterator[Client]:
    made = Client(ray_server.url, retry_for=5)
    yield made
    _stop_what_runs(made)
    made.close()


def _stop_what_runs(client: Client) -> None:
    """Stop the jobs a test left running (it failed before they ended): each holds a worker's
    CPU, and the tests after it would wait for room that never comes."""
    running = ["Pending", "InProgress", "Stopping"]
    for job in client.request("GET", "/api/v1/jobs", params={"status": running})["jobs"]:
        if job["status"] != "Stopping":
            client.request("POST", f"/api/v1/jobs/{job['name']}/stop")
    for job in client.request("GET", "/api/v1/jobs", params={"status": running})["jobs"]:
        wait_for(client, job["name"])


def _job(store: Store, name: str, mode: str, **extra: Any) -> dict[str, Any]:
    return {**behaviour(name, mode, **extra), "source_dir": store.code}


def _log(client: Client, name: str) -> str:
    return client._http.get(f"/api/v1/jobs/{name}/logs").text


@pytest.mark.slow
@pytest.mark.s3
def test_a_training_job_fetches_its_code_and_keeps_its_model_through_the_store(
    client: Client, store: Store
) -> None:
    client.request("POST", "/api/v1/jobs/training", json=_job(store, "on-ray", "ok"))
    job = wait_for(client, "on-ray")
    assert job["status"] == "Completed", job["failure_reason"]
    assert "mode=ok started" in _log(client, "on-ray")
    # What the job made reached the store from its node.
    listed = store.s3.client().list_objects_v2(Bucket=store.bucket, Prefix="dockyard/")
    keys = [o["Key"] for o in listed["Contents"]]
    assert any(k.endswith("notes.txt") for k in keys), keys


@pytest.mark.slow
@pytest.mark.s3
def test_a_tuning_jobs_trials_run_on_the_cluster(client: Client, store: Store) -> None:
    client.request(
        "POST",
        "/api/v1/tuning-jobs",
        json={
            "name": "tuned-on-ray",
            "config": {
                "strategy": "Random",
                "objective": {"type": "Minimize", "metric_name": "loss"},
                "resource_limits": {"max_jobs": 3, "max_parallel_jobs": 2},
                "parameter_ranges": {"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
                "random_seed": 3,
            },
            "training_job": {
                "entry_point": "trial.py",
                "source_dir": store.code,
                "resources": {"cpus": 1},
                "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
            },
        },
    )
    job = ended(client, "tuned-on-ray")
    assert job["status"] == "Completed", job
    found = trials(client, "tuned-on-ray")
    assert [t["status"] for t in found] == ["Completed"] * 3
    best = min(found, key=lambda t: t["objective"])
    assert job["best_trial"]["number"] == best["number"]
    # An ended trial's placement group waits a moment for the next trial, then goes: the
    # cluster has its CPUs back.
    until(lambda: not _groups("", removed=False), 30, "the trials' placement groups removed")


@pytest.mark.slow
@pytest.mark.s3
def test_a_job_asking_more_memory_than_any_node_has_fails_at_once(
    client: Client, store: Store
) -> None:
    spec = _job(store, "too-big", "ok", resources={"memory_mb": 4_000_000})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "too-big", timeout=30)
    assert job["status"] == "Failed"
    assert "no node of the Ray cluster has the 4000000 MB" in job["failure_reason"]


@pytest.mark.slow
@pytest.mark.s3
def test_a_restarted_server_finds_its_jobs_runner_on_the_cluster_again(
    client: Client, store: Store, ray_server: ServerProcess, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    spec = _job(store, "across-restart", "sdk-wait")
    spec["hyperparameters"]["release"] = str(release)
    client.request("POST", "/api/v1/jobs/training", json=spec)
    _pid(client, "across-restart")
    ray_server.kill()
    ray_server.start()
    release.touch()
    job = wait_for(client, "across-restart")
    assert job["status"] == "Completed", job["failure_reason"]


@pytest.mark.slow
@pytest.mark.s3
def test_a_transform_jobs_shards_are_scored_on_both_workers(
    client: Client, store: Store, tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from dockyard.models import save_model

    x = pd.DataFrame(np.random.default_rng(3).normal(size=(400, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(x, x.a - x.b), tmp_path / "model", input_example=x[:2])
    s3 = store.s3.client()
    for path in (tmp_path / "model").rglob("*"):
        if path.is_file():
            key = f"transform/model/{path.relative_to(tmp_path / 'model').as_posix()}"
            s3.upload_file(str(path), store.bucket, key)
    for part in range(2):
        body = x[part * 200 : (part + 1) * 200].to_csv(header=False, index=False)
        s3.put_object(Bucket=store.bucket, Key=f"transform/in/{part}.csv", Body=body.encode())
    root = f"s3://{store.bucket}/transform"
    spec = {
        "name": "spread-on-ray",
        "model_uri": f"{root}/model",
        "input": {"uri": f"{root}/in", "content_type": "text/csv"},
        "output": {"uri": f"{root}/out", "assemble_with": "Line"},
        "shard_bytes": 2_000,
    }
    client.request("POST", "/api/v1/jobs/transform", json=spec)
    job = wait_for(client, "spread-on-ray")
    assert job["status"] == "Completed", job["failure_reason"]
    assert "shards scored on 2 Ray node(s)" in _log(client, "spread-on-ray")
    for part in range(2):
        body = s3.get_object(Bucket=store.bucket, Key=f"transform/out/{part}.csv.out")["Body"]
        scored = [float(v) for v in body.read().decode().split()]
        rows = x[part * 200 : (part + 1) * 200]
        assert np.allclose(scored, rows.a - rows.b, atol=1e-6)


def _node_of(cluster: RayCluster, job: str, other_than: Any = None) -> Any:
    """The worker node where job ``job``'s runner runs (not ``other_than``), as the executor's
    dispatcher says once the runner started."""
    import ray

    dispatcher = ray.get_actor(DISPATCHER, namespace="dockyard")

    def placed() -> Any:
        for name, runner in ray.get(dispatcher.runners.remote()).items():
            if name.startswith(f"dockyard-{job}-") and runner["pid"] is not None:
                found = next((n for n in cluster.workers() if n.node_id == runner["node"]), None)
                if found is not None and found is not other_than:
                    return found
        return None

    return until(placed, 30, f"the runner of {job} placed")


def _pid(client: Client, name: str) -> int:
    line = until(
        lambda: next((x for x in _log(client, name).splitlines() if x.startswith("pid=")), None),
        60,
        f"{name} started",
    )
    return int(line.removeprefix("pid="))


@pytest.mark.slow
@pytest.mark.s3
def test_a_job_whose_node_is_lost_makes_its_next_attempt_on_another_node(
    client: Client, store: Store, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    spec = _job(store, "node-lost", "sdk-wait", retry_strategy={"max_attempts": 2})
    spec["hyperparameters"]["release"] = str(release)
    client.request("POST", "/api/v1/jobs/training", json=spec)
    first = psutil.Process(_pid(client, "node-lost"))
    node = _node_of(ray_cluster, "node-lost")
    ray_cluster.remove(node)
    wait_gone([first], timeout=30)  # the lost node's job process went with it
    until(lambda: "attempt 2:" in _log(client, "node-lost"), 60, "the second attempt")
    _node_of(ray_cluster, "node-lost", other_than=node)
    release.touch()
    job = wait_for(client, "node-lost")
    ray_cluster.add_worker()  # back to two workers for what follows
    assert job["status"] == "Completed", job["failure_reason"]
    restarts = [e["message"] for e in job["events"] if e["secondary_status"] == "Restarting"]
    assert restarts == ["attempt 2 of 2: the machine running the job was lost"]


@pytest.mark.slow
@pytest.mark.s3
def test_a_job_without_retries_fails_saying_its_node_was_lost(
    client: Client, store: Store, ray_cluster: RayCluster
) -> None:
    client.request(
        "POST", "/api/v1/jobs/training", json=_job(store, "node-gone", "sleep", seconds=60)
    )
    until(lambda: "mode=sleep started" in _log(client, "node-gone"), 60, "the job started")
    ray_cluster.remove(_node_of(ray_cluster, "node-gone"))
    job = wait_for(client, "node-gone", timeout=60)
    ray_cluster.add_worker()
    assert job["status"] == "Failed"
    assert "its node was lost" in job["failure_reason"], job["failure_reason"]


def _groups(job: str, *, removed: bool = True) -> list[dict[str, Any]]:
    """The placement groups made for the runners of job ``job`` (of every job for ""), as Ray
    lists them; without those removed already unless ``removed``."""
    from ray.util.placement_group import placement_group_table

    return [
        g
        for g in placement_group_table().values()
        if g["name"].startswith(f"dockyard-{job}") and (removed or g["state"] != "REMOVED")
    ]


@pytest.mark.slow
@pytest.mark.s3
def test_a_job_waiting_for_room_on_the_cluster_stops_without_starting(
    client: Client, store: Store
) -> None:
    from ray.util.placement_group import placement_group, remove_placement_group

    # Something else on the cluster holds every worker's CPU.
    held = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    try:
        assert held.wait(30)
        spec = _job(store, "no-room", "sleep", seconds=60)
        client.request("POST", "/api/v1/jobs/training", json=spec)
        until(lambda: [g for g in _groups("no-room") if g["state"] == "PENDING"], 30, "waiting")
        assert client.request("POST", "/api/v1/jobs/no-room/stop")["status"] == "Stopping"
        job = wait_for(client, "no-room", timeout=30)
    finally:
        remove_placement_group(held)
    assert job["status"] == "Stopped"
    assert "mode=sleep started" not in _log(client, "no-room")
    until(lambda: all(g["state"] == "REMOVED" for g in _groups("no-room")), 30, "resources freed")


@pytest.mark.slow
@pytest.mark.s3
def test_a_gpu_job_is_refused_until_a_node_has_one_then_gets_its_device(
    client: Client, store: Store, ray_cluster: RayCluster
) -> None:
    spec = _job(store, "on-gpu", "env", resources={"cpus": 1, "gpus": 1})
    answer = client._http.post("/api/v1/jobs/training", json=spec)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["field"] == "resources.gpus"
    assert "the 'ray' executor has no node with a GPU" in error["message"]
    node = ray_cluster.add_worker(gpus=1)
    try:
        # Accepted once the server's view of the cluster (kept for a second) has the node.
        until(
            lambda: client._http.post("/api/v1/jobs/training", json=spec).status_code == 201,
            30,
            "the GPU node counted",
        )
        job = wait_for(client, "on-gpu")
    finally:
        ray_cluster.remove(node)
    assert job["status"] == "Completed", job["failure_reason"]
    line = next(x for x in _log(client, "on-gpu").splitlines() if x.startswith("ENV="))
    env = json.loads(line.removeprefix("ENV="))
    assert env["CUDA_VISIBLE_DEVICES"] == "0"
    assert env["SM_NUM_GPUS"] == "1"


def test_a_ray_server_stopped_with_sigterm_drains_and_exits_cleanly(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """Joining the cluster must not take the server's SIGTERM handler (Ray's exits at once,
    mid-request) nor print Ray's crash handler's register dump over an ordinary stop."""
    server = ServerProcess(
        tmp_path / "home", env={**ray_cluster.environment(), "DOCKYARD_EXECUTOR": "ray"}
    )
    server.start(timeout=120)
    # uvicorn re-raises the signal once it has shut down; Ray's handler exits with 15.
    assert server.stop() == -signal.SIGTERM
    printed = server.output()
    assert "Application shutdown complete" in printed
    assert "Traceback" not in printed
    assert "SIGTERM received" not in printed


# -- settings the executor refuses, before a server starts ---------------------------------------


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return serve_until_it_exits(tmp_path / "home", {"DOCKYARD_EXECUTOR": "ray", **env})


def test_a_server_without_a_ray_address_says_which_setting_is_missing(tmp_path: Path) -> None:
    done = _serve(tmp_path)
    assert done.returncode == 1
    assert "needs DOCKYARD_RAY_ADDRESS" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_server_refuses_a_ray_address_where_nothing_answers(tmp_path: Path) -> None:
    done = _serve(tmp_path, DOCKYARD_RAY_ADDRESS=f"127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "DOCKYARD_RAY_ADDRESS=127.0.0.1:" in done.stderr
    assert "no Ray cluster answers there" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_ray_the_executor_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    settings = Settings(home=tmp_path, executor="ray", ray_address="127.0.0.1:6379")
    with pytest.raises(InvalidArgument) as caught:
        check_executor(settings)
    assert caught.value.field == "executor"
    assert "pip install 'dockyard[ray]'" in caught.value.message
