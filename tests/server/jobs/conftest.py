"""A real server (scheduler + local executor) for job tests, and a small training dataset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

SCRIPTS = Path(__file__).parent / "scripts"


def data_roots(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The folders specs in these tests name: the test scripts and every temporary folder."""
    return f"{SCRIPTS},{tmp_path_factory.getbasetemp()}"


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("jobs") / "home"
    server = ServerProcess(
        home,
        env={
            "DOCKYARD_JOB_STOP_GRACE_S": "2",
            "DOCKYARD_EXECUTOR_CPUS": "2",
            "DOCKYARD_JOB_CHECKPOINT_SYNC_S": "0.5",
            "DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory),
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(job_server: ServerProcess) -> Iterator[Client]:
    c = Client(job_server.url, retry_for=5)
    yield c
    c.close()


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["target"] = x @ [1.0, 2.0, 3.0] + rng.normal(size=300) * 0.1
    frame.iloc[:150].to_csv(folder / "part-1.csv", index=False)
    frame.iloc[150:].to_csv(folder / "part-2.csv", index=False)
    return folder


def wait_for(client: Client, name: str, timeout: float = 60) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.request("GET", f"/api/v1/jobs/{name}")
        if job["status"] in ("Completed", "Failed", "Stopped"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not end in {timeout} s: {job}")


def behaviour(name: str, mode: str, **extra: object) -> dict:  # type: ignore[type-arg]
    hps = {"mode": mode, **{k: v for k, v in extra.items() if k == "seconds"}}
    spec = {
        "name": name,
        "entry_point": "behaviours.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": hps,
    }
    spec.update({k: v for k, v in extra.items() if k != "seconds"})
    return spec


def runner_of(home: Path, name: str, timeout: float = 30) -> psutil.Process:
    """The runner process of job ``name`` of the server whose home is ``home``."""
    folder = str(home / "jobs" / name)
    deadline = time.monotonic() + timeout
    while True:
        for proc in psutil.process_iter(["cmdline", "cwd"]):
            cmdline = proc.info["cmdline"] or []
            if "dockyard.runtime.runner._runner" in cmdline and folder in cmdline:
                return proc
            # A runner forked from the warm process keeps its command line; it works in the
            # job's folder (which no other process of that command line does).
            if "dockyard.runtime.runner._zygote" in cmdline and proc.info["cwd"] == folder:
                return proc
        assert time.monotonic() < deadline, f"no runner for job {name}"
        time.sleep(0.05)


def wait_gone(procs: list[psutil.Process], timeout: float = 10) -> None:
    """Wait until every process in ``procs`` has ended (a zombie has ended)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        while True:
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            assert time.monotonic() < deadline, f"{proc} still runs after {timeout} s"
            time.sleep(0.02)
