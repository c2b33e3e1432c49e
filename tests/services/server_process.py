"""A Dockyard server in a child process that tests can start, kill and restart."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.services.tls import SelfSigned

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``dockyard server`` on a fixed port over one home folder, restartable in place.

    ``url`` is on loopback, which also reaches a server bound to every interface (``host``).
    With ``tls`` it serves HTTPS with that certificate: ``url`` is then ``https://localhost``
    and ``verify`` the context that trusts the certificate (give it to httpx); its local
    listener gets a free port of its own, unless ``env`` names one.
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        env: dict[str, str | None] | None = None,
        python: str | None = None,
        host: str = "127.0.0.1",
        tls: SelfSigned | None = None,
    ):
        self.home = home
        self.host = host
        self.port = port or free_port()
        self.tls = tls
        self.url = f"{'https://localhost' if tls else 'http://127.0.0.1'}:{self.port}"
        self.verify: ssl.SSLContext | bool = tls.trust() if tls else True
        self._env = dict(env or {})
        if tls is not None:
            # The local listener (plain HTTP for the server's own processes) is on a free port
            # too: the default, port + 1, may be any process's ephemeral port on a busy machine.
            self._env.setdefault("DOCKYARD_LOCAL_PORT", str(free_port()))
        self._python = python or sys.executable
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = home.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 60) -> None:
        # A value of None removes the variable the test process has (such as the S3 fixture's
        # AWS credentials, set for the whole session).
        env = {**os.environ, "DOCKYARD_HOME": str(self.home)}
        env.update({k: v for k, v in self._env.items() if v is not None})
        for key in [k for k, v in self._env.items() if v is None] + ["DOCKYARD_URI"]:
            env.pop(key, None)
        self.home.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self._python,
                    "-m",
                    "dockyard",
                    "server",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    *(
                        ["--ssl-certfile", str(self.tls.cert), "--ssl-keyfile", str(self.tls.key)]
                        if self.tls
                        else []
                    ),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self._log.read_text()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=1, verify=self.verify)
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()  # a server left starting would outlive the test that gave up on it
        raise RuntimeError(f"server did not answer in {timeout} s:\n{self._log.read_text()}")

    @property
    def pid(self) -> int:
        """The server's process id (the supervisor's, with several workers)."""
        assert self._proc is not None, "the server is not running"
        return self._proc.pid

    def kill(self) -> None:
        """Stop abruptly, as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit code (None: it was not running)."""
        code = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                code = self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None
        return code

    def output(self) -> str:
        """What the server has printed (every start of it), stdout and stderr together."""
        return self._log.read_text(errors="replace")


def serve_until_it_exits(
    home: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``dockyard server`` over ``home`` with ``env`` and none of the test process's own
    ``DOCKYARD_*`` variables, until it exits (a server expected to refuse to start)."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    variables.update(DOCKYARD_HOME=str(home), **env)
    return subprocess.run(
        [sys.executable, "-m", "dockyard", "server", "--port", str(free_port())],
        env=variables,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
