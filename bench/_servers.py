"""Start and stop the servers a benchmark compares, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Server", "free_port"]

VENV_BIN = Path(sys.executable).parent
# MLflow's workers have taken ~35 s to answer on a loaded two-core machine.
START_TIMEOUT_S = 180


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
    def dockyard(cls, home: Path, workers: int = 2, env: dict[str, str] | None = None) -> Server:
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
        return cls(
            "dockyard", argv, port, "/healthz", {"DOCKYARD_LOG_LEVEL": "warning", **(env or {})}
        )

    @classmethod
    def stub(cls, app: str, workers: int = 2) -> Server:
        """An ASGI app of ``bench/`` (``module:attribute``) under uvicorn with the workers, event
        loop and HTTP parser Dockyard runs on: what a client reaches when the server costs
        nothing. It answers ``/health``."""
        port = free_port()
        argv = [
            str(VENV_BIN / "uvicorn"),
            app,
            "--app-dir",
            str(Path(__file__).parent),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        return cls("stub", argv, port, "/health", {})

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
        try:
            self._wait_healthy()
        except BaseException:
            # __exit__ does not run when __enter__ raises: stop the process group here, or a
            # timed-out or interrupted start leaves its workers running.
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _cpu_times(self) -> list[Any]:
        """``psutil`` CPU times of the server and each of its live descendants."""
        import psutil

        assert self._proc is not None
        root = psutil.Process(self._proc.pid)
        found = []
        for proc in [root, *root.children(recursive=True)]:
            try:
                found.append(proc.cpu_times())
            except psutil.Error:
                continue
        return found

    def reaped_cpu_seconds(self) -> float:
        """CPU time used by the server's ended descendants: each job's runner, job process and
        workers (a warm process's reaped children count in it, itself in the server)."""
        return sum(t.children_user + t.children_system for t in self._cpu_times())

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its live child processes so far."""
        return sum(t.user + t.system for t in self._cpu_times())

    def write_calls(self) -> int:
        """Write system calls of the server and its live child processes so far (socket
        writes and the database's WAL frames alike)."""
        import psutil

        assert self._proc is not None
        root = psutil.Process(self._proc.pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                total += proc.io_counters().write_count
            except psutil.Error:
                continue
        return total

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._proc.returncode} on start")
            try:
                if httpx.get(self.url + self._health, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self._health} in {START_TIMEOUT_S} s")

    def _stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
