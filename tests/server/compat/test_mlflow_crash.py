"""A real ``dockyard server`` SIGKILLed while the ``mlflow`` client logs from several threads:
after a restart every call the server answered is stored, with its event (acknowledged means
durable), and the runs are as the client left them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.tracking import MlflowClient
from tests.services.server_process import ServerProcess

THREADS = 4
BEFORE_KILL = 30  # calls each thread has had answered when the kill comes


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refused call fails at once
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    proc = ServerProcess(tmp_path / "home")
    proc.start()
    yield proc
    proc.stop()


class Logger(threading.Thread):
    """Logs a metric, a param, then a batch (metric, param, tag), over and over, noting each
    call the server answered; stops at the first that fails (the server is gone)."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        super().__init__(daemon=True)
        self.client, self.run_id = client, run_id
        self.answered: list[tuple[str, int]] = []
        self.enough = threading.Event()

    def run(self) -> None:
        n = 0
        try:
            while True:
                n += 1
                if n % 3 == 1:
                    self.client.log_metric(self.run_id, "m", float(n), timestamp=n, step=n)
                    self.answered.append(("metric", n))
                elif n % 3 == 2:
                    self.client.log_param(self.run_id, f"p{n}", str(n))
                    self.answered.append(("param", n))
                else:
                    self.client.log_batch(
                        self.run_id,
                        metrics=[Metric("b", float(n), n, n)],
                        params=[Param(f"q{n}", str(n))],
                        tags=[RunTag(f"t{n}", str(n))],
                    )
                    self.answered.append(("batch", n))
                if len(self.answered) >= BEFORE_KILL:
                    self.enough.set()
        except Exception:
            self.enough.set()


def _lost(client: MlflowClient, run: Run, answered: list[tuple[str, int]]) -> list[object]:
    """The answered calls whose data the run lacks."""
    metrics = {m.step for m in client.get_metric_history(run.info.run_id, "m")}
    batched = {m.step for m in client.get_metric_history(run.info.run_id, "b")}
    params, tags = run.data.params, run.data.tags
    stored = {
        "metric": lambda n: n in metrics,
        "param": lambda n: params.get(f"p{n}") == str(n),
        "batch": lambda n: (
            n in batched and params.get(f"q{n}") == str(n) and tags.get(f"t{n}") == str(n)
        ),
    }
    return [(kind, n) for kind, n in answered if not stored[kind](n)]


def test_every_answered_call_survives_a_kill(server: ServerProcess) -> None:
    client = MlflowClient(server.url)
    experiment = client.create_experiment("crash")
    loggers = [Logger(client, client.create_run(experiment).info.run_id) for _ in range(THREADS)]
    for logger in loggers:
        logger.start()
    for logger in loggers:
        assert logger.enough.wait(120), "the client never got its calls answered"
    server.kill()  # mid-call for every thread still logging
    for logger in loggers:
        logger.join(60)
        assert not logger.is_alive()
    server.start()
    with httpx.Client(base_url=server.url) as api:
        for logger in loggers:
            run = client.get_run(logger.run_id)
            assert run.info.status == "RUNNING"
            lost = _lost(client, run, logger.answered)
            assert not lost, f"answered but lost: {lost}"
            events = api.get(
                "/api/v1/events",
                params={"type": "run.logged", "resource_id": logger.run_id, "limit": 1000},
            ).json()["events"]
            logged = [e for e in events if e["resource_id"] == logger.run_id]
            # One event per stored call: those answered, and perhaps the one the kill cut off.
            assert len(logger.answered) <= len(logged) <= len(logger.answered) + 1
