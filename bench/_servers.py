"""Start and stop the servers a benchmark compares, on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["Server", "free_port"]

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server process that answers ``health`` when ready."""

    def __init__(self, name: str, argv: list[str], port: int, health: str, env: dict[str, str]):
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self._argv = argv
        self._health = health
        self._env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", **env}
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def dockyard(cls, home: Path, workers: int = 2) -> Server:
        port = free_port()
        argv = [
            str(VENV_BIN / "dockyard"),
            "server",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--home",
            str(home),
        ]
        return cls("dockyard", argv, port, "/healthz", {"DOCKYARD_LOG_LEVEL": "warning"})

    @classmethod
    def mlflow(cls, home: Path, workers: int = 2) -> Server:
        port = free_port()
        home.mkdir(parents=True, exist_ok=True)
        argv = [
            str(VENV_BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--backend-store-uri",
            f"sqlite:///{home}/mlflow.db",
            "--artifacts-destination",
            str(home / "artifacts"),
        ]
        return cls("mlflow", argv, port, "/health", {})

    def __enter__(self) -> Server:
        self._proc = subprocess.Popen(
            self._argv,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + self._health, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        os.killpg(self._proc.pid, 15)
        try:
            self._proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, 9)
