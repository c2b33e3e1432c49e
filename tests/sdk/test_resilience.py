"""A server restart or outage mid-run loses no metric; a server that stays away is reported."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "server-home")
    proc.start()
    yield proc
    proc.stop()


def test_restart_mid_run_loses_nothing(server: ServerProcess, tmp_path: Path) -> None:
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    with dy.start_run() as run:
        for step in range(5000):
            dy.log_metric("loss", float(step), step=step)
        server.kill()
        # Logged while the server is down: buffered, then delivered after it returns.
        for step in range(5000, 10_000):
            dy.log_metric("loss", float(step), step=step)
        restarter = threading.Timer(1.0, server.start)
        restarter.start()
        for step in range(10_000, 12_000):
            dy.log_metric("loss", float(step), step=step)
            if step % 500 == 0:
                time.sleep(0.1)
        restarter.join()
    history = dy.sdk.context().client.request(
        "GET", f"/api/v1/runs/{run.run_id}/metrics/loss", params={"max_results": 20_000}
    )["metrics"]
    assert [m["step"] for m in history] == list(range(12_000))


def test_server_that_stays_away_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "client", uri="http://127.0.0.1:9")
    ctx = reset_context(settings)
    ctx.client.retry_for = 0.5
    with pytest.raises(dy.Unavailable, match="cannot reach"):
        dy.start_run()
    reset_context(Settings(home=tmp_path / "client"))
