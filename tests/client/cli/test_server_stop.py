"""``dockyard server stop``: the local server the SDK started, and with ``--endpoints`` the
endpoints' workers, stopped; nothing else is ever signalled, and stopping nothing is no error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner

from dockyard.api.serving.launcher import WorkerHandle
from dockyard.client.cli import cli
from dockyard.client.sdk._local_server import ensure_server
from dockyard.settings import Settings

pytestmark = pytest.mark.slow

# A process whose command line reads like a server's (``... dockyard server``) and which ends
# on SIGTERM, as one does: the guard against pids taken by other programs is what is tested.
LOOKALIKE = [sys.executable, "-c", "import time; time.sleep(120)", "dockyard", "server"]


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(LOOKALIKE, start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _stop(home: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["server", "stop", "--home", str(home), "--json", *args])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.output)
    return answer


def test_the_sdks_server_is_stopped_and_a_second_stop_finds_none(tmp_path: Path) -> None:
    url = ensure_server(Settings(home=tmp_path))
    recorded = json.loads((tmp_path / "server.json").read_text())
    server = psutil.Process(recorded["pid"])
    answer = _stop(tmp_path)
    assert answer == {"home": str(tmp_path), "server": url, "stopped": True, "endpoints": {}}
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=5)
    assert not (tmp_path / "server.json").exists()
    again = CliRunner().invoke(cli, ["server", "stop", "--home", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"no local server was running over {tmp_path}"


def test_a_pid_now_held_by_another_program_is_left_alone(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    started = psutil.Process(lookalike.pid).create_time()
    record = {"url": "http://127.0.0.1:1", "pid": lookalike.pid, "create_time": started - 60}
    (tmp_path / "server.json").write_text(json.dumps(record))
    assert _stop(tmp_path)["stopped"] is False
    assert lookalike.poll() is None
    # The record was stale: it is gone, and the same pid recorded with its real start is ended.
    assert not (tmp_path / "server.json").exists()
    (tmp_path / "server.json").write_text(json.dumps({**record, "create_time": started}))
    assert _stop(tmp_path)["stopped"] is True
    lookalike.wait(timeout=10)  # stop reaped it (it is this test's child), so no status here
    assert not psutil.pid_exists(lookalike.pid)


def test_a_pid_of_a_program_that_is_no_server_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (tmp_path / "server.json").write_text(json.dumps({"url": "x", "pid": other.pid}))
        assert _stop(tmp_path)["stopped"] is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_endpoint_workers_are_stopped_only_when_asked_and_only_their_own(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    folder = tmp_path / "endpoints" / "scores"
    folder.mkdir(parents=True)
    worker = subprocess.Popen(LOOKALIKE, start_new_session=True)
    try:
        started = psutil.Process(worker.pid).create_time()
        handles = [
            WorkerHandle(worker.pid, started, "", "i-1"),
            # a recorded worker whose pid another program got since
            WorkerHandle(lookalike.pid, started - 60, "", "i-2"),
        ]
        (folder / "workers.json").write_text(json.dumps([asdict(h) for h in handles]))
        assert _stop(tmp_path)["endpoints"] == {}
        assert worker.poll() is None
        answer = _stop(tmp_path, "--endpoints", "--grace", "10")
        assert answer["endpoints"] == {"scores": 1}
        assert worker.wait(timeout=10) == -15
        assert lookalike.poll() is None
        assert _stop(tmp_path, "--endpoints")["endpoints"] == {"scores": 0}
    finally:
        worker.kill()
        worker.wait()


def test_the_servers_options_are_refused_before_a_subcommand(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--port", "5051", "stop", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "the server's options do not apply to stop" in result.output
