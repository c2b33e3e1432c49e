"""A server restart or outage mid-run loses no metric; a server that stays away is reported."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client import sdk
from dockyard.client.sdk import reset_context
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
    history = sdk.context().client.request(
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


def _steps(run_id: str) -> list[int]:
    history = sdk.context().client.request("GET", f"/api/v1/runs/{run_id}/metrics/loss")
    return [m["step"] for m in history["metrics"]]


def test_end_run_after_a_long_outage_says_how_many_points_were_lost(
    server: ServerProcess, tmp_path: Path
) -> None:
    ctx = reset_context(Settings(home=tmp_path / "client", uri=server.url))
    ctx.client.retry_for = 1.0  # the outage outlasts the retry window (120 s by default)
    run = dy.start_run()
    dy.log_metric("loss", 0.0, step=0)
    ctx.sender.flush()
    server.kill()
    for step in range(1, 251):
        dy.log_metric("loss", float(step), step=step)
    with pytest.raises(dy.Unavailable, match=r"^250 metric points were not logged: ") as caught:
        dy.end_run()
    assert caught.value.details["metrics_not_logged"] == 250
    assert dy.active_run() is None
    server.start()
    assert _steps(run.run_id) == [0]  # none of them arrived after all
    reset_context(Settings(home=tmp_path / "client"))


def test_log_metric_after_a_long_outage_says_how_many_points_were_lost(
    server: ServerProcess, tmp_path: Path
) -> None:
    ctx = reset_context(Settings(home=tmp_path / "client", uri=server.url))
    ctx.client.retry_for = 1.0
    run = dy.start_run()
    dy.log_metric("loss", 0.0, step=0)
    ctx.sender.flush()
    server.kill()
    logged = 0
    deadline = time.monotonic() + 30
    with pytest.raises(dy.Unavailable) as caught:
        while True:  # a training loop, one step every 10 ms, until the SDK gives up
            dy.log_metric("loss", 1.0, step=1 + logged)
            logged += 1
            assert time.monotonic() < deadline, "log_metric never reported the outage"
            time.sleep(0.01)
    lost = logged + 1  # with the point of the call that raised
    assert caught.value.details["metrics_not_logged"] == lost
    assert caught.value.message.startswith(f"{lost} metric points were not logged: ")
    server.start()
    dy.log_metric("loss", 2.0, step=10_000)  # logging goes on once the server is back
    dy.end_run()
    assert _steps(run.run_id) == [0, 10_000]
    assert dy.get_run(run.run_id).info.status == "FINISHED"
    reset_context(Settings(home=tmp_path / "client"))
