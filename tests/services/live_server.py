"""A real Dockyard server process for the test session, for clients that need a URL (MLflow's).

The server runs uvicorn in a child process over a fresh ``DOCKYARD_HOME``; the fixture waits for
``/healthz`` and stops the process (SIGTERM, then SIGKILL) when the session ends. Tests share the
server, so each must create its own experiments under unique names.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = ["LiveServer", "live_server"]

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0

_SERVE = (
    "import sys, uvicorn\n"
    "from dockyard.server import create_app\n"
    "from dockyard.settings import Settings\n"
    "uvicorn.run(create_app(Settings(home=sys.argv[1])), host='127.0.0.1',"
    " port=int(sys.argv[2]), log_level='warning')\n"
)


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL, its home folder and the file its output goes to."""

    url: str
    home: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    pytest.fail(f"the server did not answer /healthz within {_START_TIMEOUT} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(_STOP_TIMEOUT)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Dockyard server on a free loopback port, shared by the session."""
    root = tmp_path_factory.mktemp("live-server")
    home = root / "home"
    home.mkdir()
    log = root / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DOCKYARD_HOME": str(home)}
    env.pop("DOCKYARD_URI", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(home), str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(proc, url, log)
        yield LiveServer(url=url, home=home, log=log)
    finally:
        _stop(proc)
