"""The executor contract, and jobs run by runners that share no disk with the server.

Every executor passes these. The server here runs the isolated executor
(:mod:`tests.server.jobs.isolated_executor`): each runner sees an empty folder where the server's
home is, works in a work root of its own, and cannot be signalled, so whatever a job needs it gets
through the API and the artifact store (kept outside the server's home), as a runner on
another machine would. The same tests run against a server whose executor is Ray, on a cluster of
three nodes (``tests/services/ray_cluster.py``), where each runner works in a temporary folder of
the node Ray placed it on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from tests.server.jobs.conftest import behaviour, data_roots, wait_for
from tests.server.jobs.isolated_executor import IsolatedExecutor
from tests.services.ray_cluster import RayCluster
from tests.services.server_process import ServerProcess

from dockyard.api.jobs import Executor
from dockyard.api.jobs._executor import Launch, load_executor
from dockyard.client.http import Client
from dockyard.models import save_model
from dockyard.runtime.runner._local import LocalExecutor
from dockyard.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.ray_cluster]  # its Ray executor uses the cluster

_REPO = Path(__file__).resolve().parents[3]
_ISOLATED = "tests.server.jobs.isolated_executor:IsolatedExecutor"


class Places:
    """Where the server keeps things: its home, the store, its runners' work root (the
    isolated executor's; Ray's runners work in temporary folders of their nodes)."""

    def __init__(self, root: Path, executor: str) -> None:
        self.home = root / "home"
        self.store = root / "store"
        self.work = root / "work"
        self.executor = executor


@pytest.fixture(scope="module", params=["isolated", "ray"])
def places(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Places:
    return Places(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def isolated_server(
    request: pytest.FixtureRequest, places: Places, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {
        "DOCKYARD_EXECUTOR": _ISOLATED,
        "DOCKYARD_EXECUTOR_CPUS": "2",
        "DOCKYARD_WORK_ROOT": str(places.work),
        "DOCKYARD_ARTIFACT_ROOT": str(places.store),
        "DOCKYARD_JOB_STOP_GRACE_S": "2",
        "DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory),
        # The server imports the test executor by its dotted path.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")])),
    }
    if places.executor == "ray":
        cluster: RayCluster = request.getfixturevalue("ray_cluster")
        env.update(cluster.environment(), DOCKYARD_EXECUTOR="ray")
    server = ServerProcess(places.home, env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(isolated_server: ServerProcess) -> Iterator[Client]:
    c = Client(isolated_server.url, retry_for=5)
    yield c
    c.close()


def _log(client: Client, name: str) -> str:
    return client._http.get(f"/api/v1/jobs/{name}/logs").text


def test_a_training_job_runs_with_nothing_of_the_servers_disk(
    client: Client, places: Places
) -> None:
    client.request("POST", "/api/v1/jobs/training", json=behaviour("apart", "ok"))
    job = wait_for(client, "apart")
    assert job["status"] == "Completed", job["failure_reason"]
    steps = [e["secondary_status"] for e in job["events"]]
    assert steps == ["Pending", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    # The job's output reached the server through the API, into the store.
    assert "mode=ok started" in _log(client, "apart")
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["status"] == "FINISHED"
    # The server's home holds no trace of the job's folder.
    assert not (places.home / "jobs" / "apart").exists()
    if places.executor == "ray":
        assert not places.work.exists()  # the runner worked on its Ray node
        return
    assert (places.work / "apart" / ".home").is_dir()  # the isolated executor ran it
    # The runner worked in its own root.
    assert (places.work / "apart" / ".dockyard" / "output.log").is_file()
    # And it could not have read the server's home: it saw an empty folder there.
    runner_output = (places.work / "apart" / ".dockyard" / "runner.log").read_text()
    assert "could not start" not in runner_output


def test_the_jobs_code_sees_an_empty_folder_where_the_servers_home_is(
    client: Client, places: Places
) -> None:
    if places.executor != "isolated":
        pytest.skip(
            "Ray's nodes on this one machine share its disk; only the isolated executor hides it"
        )
    secret = places.home / "secret.txt"
    secret.write_text("the server's own")
    client.request(
        "POST",
        "/api/v1/jobs/training",
        json=behaviour(
            "prying-home", "prying", hyperparameters={"mode": "prying", "paths": str(secret)}
        ),
    )
    job = wait_for(client, "prying-home")
    assert job["status"] == "Completed", job["failure_reason"]
    line = next(x for x in _log(client, "prying-home").splitlines() if x.startswith("PRYING="))
    assert json.loads(line.removeprefix("PRYING="))["tried"] == {str(secret): "FileNotFoundError"}


def test_a_transform_job_reads_and_writes_through_the_store(
    client: Client, places: Places, tmp_path: Path
) -> None:
    x = np.array([[1.0, 2.0]])
    model = LinearRegression().fit(pd.DataFrame([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), [0, 1, 2])
    save_model(model, tmp_path / "model")
    np.savetxt(tmp_path / "one.csv", x, delimiter=",")
    spec = {
        "name": "apart-score",
        "model_uri": str(tmp_path / "model"),
        "input": {"uri": str(tmp_path / "one.csv"), "content_type": "text/csv"},
    }
    client.request("POST", "/api/v1/jobs/transform", json=spec)
    job = wait_for(client, "apart-score")
    assert job["status"] == "Completed", job["failure_reason"]
    assert "1 records scored, 0 bad" in job["events"][-1]["message"]
    out = places.store / "transform" / "apart-score" / "one.csv.out"
    assert abs(float(out.read_text().strip()) - 5.0) < 1e-6
    assert not (places.home / "jobs" / "apart-score").exists()


def test_a_stop_reaches_the_runner_through_the_api(client: Client) -> None:
    client.request(
        "POST", "/api/v1/jobs/training", json=behaviour("apart-stop", "sleep", seconds=60)
    )
    deadline = time.monotonic() + 30
    while "started" not in _log(client, "apart-stop"):
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.1)
    # The isolated executor cannot signal its runners: the stop travels in the answer to a report.
    assert client.request("POST", "/api/v1/jobs/apart-stop/stop")["status"] == "Stopping"
    job = wait_for(client, "apart-stop", timeout=30)
    assert job["status"] == "Stopped"
    assert "got SIGTERM" in _log(client, "apart-stop")


def test_waiting_for_a_job_answers_when_it_ends(client: Client) -> None:
    client.request("POST", "/api/v1/jobs/training", json=behaviour("apart-wait", "ok", seconds=1))
    started = time.monotonic()
    job = client.request("GET", "/api/v1/jobs/apart-wait", params={"wait": 30})
    assert job["status"] == "Completed", job
    assert time.monotonic() - started < 25  # woken by the job's end, not by the timeout
    # A job that has not ended by then comes back as it is.
    client.request(
        "POST", "/api/v1/jobs/training", json=behaviour("apart-long", "sleep", seconds=60)
    )
    started = time.monotonic()
    job = client.request("GET", "/api/v1/jobs/apart-long", params={"wait": 0.5})
    assert job["status"] in ("InProgress", "Pending")
    assert time.monotonic() - started >= 0.5
    client.request("POST", "/api/v1/jobs/apart-long/stop")


def test_a_runner_token_alone_reports_a_jobs_status(client: Client) -> None:
    """What only a runner does is refused to anyone else, here to a plain caller."""
    client.request("POST", "/api/v1/jobs/training", json=behaviour("apart-forged", "ok"))
    wait_for(client, "apart-forged")
    response = client._http.post(
        "/api/v1/jobs/apart-forged/reports", json={"events": [], "next_offset": 0}
    )
    # On a server without accounts any caller may act; the job has ended, so nothing changes.
    assert response.status_code == 200
    assert response.json()["status"] == "Completed"
    response = client._http.post(
        "/api/v1/jobs/apart-forged/logs", params={"offset": 0}, content=b"x"
    )
    assert response.status_code == 409


# -- the contract itself, for every executor ------------------------------------------------------


_NAMES = {"local": "local", _ISOLATED: "isolated", "ray": "ray"}


@pytest.fixture(params=list(_NAMES))
def executor(request: pytest.FixtureRequest, tmp_path: Path) -> Executor:
    ray_address = None
    if request.param == "ray":
        ray_address = request.getfixturevalue("ray_cluster").address
    settings = Settings(
        home=tmp_path / "home",
        work_root=tmp_path / "work",
        executor=request.param,
        ray_address=ray_address,
    )
    settings.home.mkdir()
    return load_executor(settings)


def _launch(server: str, job: str) -> Launch:
    return {
        "job": job,
        "job_id": "0" * 32,
        "server_url": server,
        "token": None,
        "cpus": 1.0,
        "memory_mb": None,
    }


def test_the_executors_are_chosen_by_name(
    executor: Executor, request: pytest.FixtureRequest
) -> None:
    assert executor.name == _NAMES[request.node.callspec.params["executor"]]
    assert isinstance(executor, LocalExecutor) == (executor.name != "ray")
    assert isinstance(executor, IsolatedExecutor) == (executor.name == "isolated")


def test_capacity_is_plain_data(executor: Executor) -> None:
    capacity = executor.capacity()
    assert capacity["cpus"] > 0
    assert json.loads(json.dumps(capacity)) == capacity


def test_a_runner_that_cannot_start_ends_with_its_own_output(
    executor: Executor, isolated_server: ServerProcess
) -> None:
    handle = executor.submit(_launch(isolated_server.url, "no-such-job"))
    assert json.loads(json.dumps(handle)) == handle  # kept in the job's row as it is
    deadline = time.monotonic() + 30
    while (status := executor.status(handle))["running"]:
        assert time.monotonic() < deadline, "the runner did not end"
        time.sleep(0.05)
    assert status["exit_code"] == 1
    assert "job no-such-job could not start" in executor.logs(handle)
    assert "no-such-job" in executor.logs(handle, limit=200)
    executor.stop(handle)  # a runner that has ended: nothing to do, no error


def test_an_unknown_executor_is_named(tmp_path: Path) -> None:
    from dockyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as caught:
        load_executor(Settings(home=tmp_path, executor="nomad"))
    assert caught.value.field == "executor"
    assert "local" in caught.value.message


def test_the_runner_needs_its_server_and_job(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.runtime.runner._runner", str(tmp_path)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "DOCKYARD_RUNNER_SERVER" in done.stderr
    assert not list(tmp_path.iterdir())
