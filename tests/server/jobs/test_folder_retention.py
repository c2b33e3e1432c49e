"""A finished job's work folder leaves the executor's disk once its retention has passed; a
running job's stays however long it runs, and the job's log outlives its folder."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.server.jobs.conftest import behaviour, data_roots
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow

RETENTION_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("retention") / "home",
        env={
            "DOCKYARD_JOB_FOLDER_RETENTION_S": str(RETENTION_S),
            "DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory),
        },
    )
    proc.start()
    yield proc
    proc.stop()


def test_a_finished_jobs_folder_goes_and_a_running_ones_stays(server: ServerProcess) -> None:
    folder = server.home / "jobs" / "outlasts-retention"
    with Client(server.url, retry_for=10) as client:
        spec = behaviour("outlasts-retention", "sleep", seconds=4)
        client.request("POST", "/api/v1/jobs/training", json=spec)
        deadline = time.monotonic() + 120
        made = False  # the executor makes the folder just after the job is Starting
        while (job := client.request("GET", "/api/v1/jobs/outlasts-retention"))["status"] in (
            "Pending",
            "InProgress",
        ):
            if job["secondary_status"] not in ("Pending", "Starting"):
                # Running for longer than the retention (4 s against 1 s): kept all along.
                assert folder.is_dir(), job
                made = True
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "Completed", job["failure_reason"]
        assert made, "the job was never seen running"
        while folder.exists():
            assert time.monotonic() < deadline, f"{folder} still there"
            time.sleep(0.1)
        log = client._http.get("/api/v1/jobs/outlasts-retention/logs").text
        assert "mode=sleep started" in log  # the log is not in the folder
        assert client.request("GET", "/api/v1/jobs/outlasts-retention")["status"] == "Completed"
