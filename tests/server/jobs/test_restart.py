"""A server restart loses no job: running ones are reattached or failed with a reason,
queued ones resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.server.jobs.conftest import behaviour, data_roots, wait_for
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"DOCKYARD_EXECUTOR_CPUS": "1", "DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory)}
    proc = ServerProcess(tmp_path / "home", env=env)
    proc.start()
    yield proc
    proc.stop()


def _wait_status(client: Client, name: str, secondary: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while client.request("GET", f"/api/v1/jobs/{name}")["secondary_status"] != secondary:
        assert time.monotonic() < deadline, f"{name} never reached {secondary}"
        time.sleep(0.1)


def test_running_job_is_reattached_and_queued_jobs_resume(server: ServerProcess) -> None:
    client = Client(server.url, retry_for=30)
    client.request("POST", "/api/v1/jobs/training", json=behaviour("first", "ok", seconds=3))
    client.request("POST", "/api/v1/jobs/training", json=behaviour("second", "ok", seconds=0.5))
    _wait_status(client, "first", "Training")
    server.kill()
    time.sleep(1)
    server.start()
    first, second = wait_for(client, "first"), wait_for(client, "second")
    client.close()
    assert first["status"] == "Completed", first["failure_reason"]
    assert second["status"] == "Completed", second["failure_reason"]
    steps = [e["secondary_status"] for e in first["events"]]
    assert steps[-3:] == ["Training", "Uploading", "Completed"]


def _job_processes(home: Path, name: str) -> list[psutil.Process]:
    folder = str(home / "jobs" / name)
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if folder in cmdline or (proc.info["cwd"] or "").startswith(folder):
            found.append(proc)
    return found


def test_job_whose_runner_died_during_downtime_fails_with_a_reason(server: ServerProcess) -> None:
    client = Client(server.url, retry_for=30)
    client.request("POST", "/api/v1/jobs/training", json=behaviour("orphan", "sleep", seconds=60))
    _wait_status(client, "orphan", "Training")
    server.kill()
    for proc in _job_processes(server.home, "orphan"):
        os.kill(proc.pid, signal.SIGKILL)
    server.start()
    job = wait_for(client, "orphan")
    client.close()
    assert job["status"] == "Failed"
    assert "exited without a final status while the server was down" in job["failure_reason"]


def test_a_runner_started_just_before_the_kill_is_found_without_its_handle(
    server: ServerProcess,
) -> None:
    """The scheduler stores a runner's handle once the runner started; a kill in between leaves
    a row without one. The row is made so here (the window is too short to aim a kill at)."""
    client = Client(server.url, retry_for=30)
    client.request("POST", "/api/v1/jobs/training", json=behaviour("unstored", "ok", seconds=3))
    _wait_status(client, "unstored", "Training")
    server.kill()
    with sqlite3.connect(server.home / "dockyard.db") as db:
        db.execute("UPDATE jobs SET handle = NULL WHERE name = 'unstored'")
    server.start()
    job = wait_for(client, "unstored")
    client.close()
    assert job["status"] == "Completed", job["failure_reason"]
    assert [e["secondary_status"] for e in job["events"]][-3:] == [
        "Training",
        "Uploading",
        "Completed",
    ]
