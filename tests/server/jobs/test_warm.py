"""Runners forked from the local executor's warm process are what cold runners are.

One server forks its runners from the warm process (the default), one starts each as a new
interpreter (``DOCKYARD_EXECUTOR_WARM=false``); a job reports what it sees of itself and of its
runner, and both reports must agree on everything but where each server keeps its files.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.server.jobs.conftest import SCRIPTS, data_roots, wait_for
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow


def _server(root: Path, warm: bool, roots: str) -> ServerProcess:
    return ServerProcess(
        root / "home",
        env={
            "DOCKYARD_EXECUTOR_WARM": "true" if warm else "false",
            "DOCKYARD_EXECUTOR_CPUS": "2",
            "DOCKYARD_DATA_ROOTS": roots,
            # A transform holding store credentials is scored by workers, never in the process
            # the warm process learns from; the session's S3 fixture may have set them.
            **{name: None for name in os.environ if name.startswith("AWS_")},
        },
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    roots = data_roots(tmp_path_factory)
    started = {
        "warm": _server(tmp_path_factory.mktemp("warm"), True, roots),
        "cold": _server(tmp_path_factory.mktemp("cold"), False, roots),
    }
    for server in started.values():
        server.start()
    yield started
    for server in started.values():
        server.stop()


def _identity(server: ServerProcess, name: str) -> dict[str, Any]:
    with Client(server.url, retry_for=5) as client:
        client.request(
            "POST",
            "/api/v1/jobs/training",
            json={"name": name, "entry_point": "identity.py", "source_dir": str(SCRIPTS)},
        )
        job = wait_for(client, name)
        assert job["status"] == "Completed", job["failure_reason"]
        log = client._http.get(f"/api/v1/jobs/{name}/logs").text
    line = next(x for x in log.splitlines() if x.startswith("IDENTITY "))
    # Where each server keeps its files is all that may differ.
    text = line.removeprefix("IDENTITY ").replace(str(server.home), "<home>")
    report: dict[str, Any] = json.loads(text.replace(server.url, "<server>"))
    report["env"].pop("DOCKYARD_RUN_ID")  # each job's own
    report["env"].pop("MLFLOW_RUN_ID")  # the same, for the mlflow client
    return report


def _zygote(server: ServerProcess) -> psutil.Process:
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        if (
            "dockyard.runtime.runner._zygote" in (proc.info["cmdline"] or [])
            and proc.info["ppid"] != 1
        ):
            for parent in proc.parents():
                if any(str(server.port) in part for part in parent.cmdline()):
                    return proc
    raise AssertionError("the server has no warm process")


def test_a_warm_runner_has_a_cold_runners_identity(servers: dict[str, ServerProcess]) -> None:
    warm = _identity(servers["warm"], "identity")
    cold = _identity(servers["cold"], "identity")
    assert "dockyard.runtime.runner._zygote" in warm.pop("runner_cmdline")  # it was forked
    assert "dockyard.runtime.runner._runner" in cold.pop("runner_cmdline")  # it was started
    assert warm["runner_session_leader"] and warm["runner_group_leader"]
    assert warm["runner_cwd"] == "<home>/jobs/identity"
    assert warm["runner_fds"][:3] == [
        "/dev/null",
        *["<home>/jobs/identity/.dockyard/runner.log"] * 2,
    ]
    assert not any(k.startswith("DOCKYARD_RUNNER_") for k in warm["env"])  # nor its token
    names = set(warm["env"]) | set(cold["env"])
    env = {k: (warm["env"].get(k), cold["env"].get(k)) for k in names}
    assert {k: pair for k, pair in env.items() if pair[0] != pair[1]} == {}
    assert warm == cold


def test_a_warm_process_that_died_is_replaced(servers: dict[str, ServerProcess]) -> None:
    server = servers["warm"]
    _identity(server, "before")
    first = _zygote(server)
    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while first.is_running() and first.status() != psutil.STATUS_ZOMBIE:  # the server reaps it
        assert time.monotonic() < deadline, "the warm process did not die"
        time.sleep(0.02)
    report = _identity(server, "after")
    assert "dockyard.runtime.runner._zygote" in report["runner_cmdline"]  # forked by its successor
    assert _zygote(server).pid != first.pid


def test_the_warm_process_learns_a_transforms_libraries(
    servers: dict[str, ServerProcess], tmp_path: Path
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from dockyard.models import save_model

    server = servers["warm"]
    x = np.arange(12.0).reshape(6, 2)
    model = LinearRegression().fit(pd.DataFrame(x, columns=["a", "b"]), x @ [1.0, 2.0])
    save_model(model, tmp_path / "model", input_example=pd.DataFrame(x[:2], columns=["a", "b"]))
    np.savetxt(tmp_path / "in.csv", x[:1], delimiter=",")
    learned = server.home / "jobs" / ".cache" / "warm-modules.txt"
    with Client(server.url, retry_for=5) as client:
        for name in ("learn-first", "learn-second"):
            client.request(
                "POST",
                "/api/v1/jobs/transform",
                json={
                    "name": name,
                    "model_uri": str(tmp_path / "model"),
                    "input": {"uri": str(tmp_path / "in.csv"), "content_type": "text/csv"},
                    "output": {"uri": str(tmp_path / name)},
                },
            )
            job = wait_for(client, name)
            assert job["status"] == "Completed", job["failure_reason"]
            # The one row is [0, 1]: 0 * 1 + 1 * 2.
            assert float((tmp_path / name / "in.csv.out").read_text()) == pytest.approx(2.0)
            if name == "learn-first":
                assert "sklearn.linear_model._base" in learned.read_text().split()
                warm = _zygote(server)
                deadline = time.monotonic() + 60
                # The warm process imports what the transform did: scikit-learn's own libraries.
                while not any("/sklearn/" in m.path for m in warm.memory_maps()):
                    assert time.monotonic() < deadline, "the warm process learned nothing"
                    time.sleep(0.1)
    assert str(tmp_path) not in learned.read_text()
