"""One endpoint replica on a Ray node: a Ray actor that starts Dockyard's serving worker there.

The server's Ray worker launcher (:mod:`dockyard.runtime.serving._raylauncher`) places one
:class:`Replica` actor per worker on the node it chose. The actor starts the ordinary serving
worker (``python -m dockyard.runtime.serving.worker``) as a new interpreter on that node: the
request path is the worker's own (uvicorn, micro-batching, no extra hop inside the node), and the
Ray worker process is never forked. The worker binds the node's address as Ray knows it
(``ray.util.get_node_ip_address``) on a free port, and the actor hands that address back, so the
server's router sends requests to where the worker really listens.

The worker's log stays on the node, in the layout of :mod:`dockyard.api.serving.logs`; the
server copies it into the endpoint's folder through :meth:`Replica.log`.

The actor is the worker's lifeline: the worker gets ``PR_SET_PDEATHSIG`` against the thread that
started it (one that lives as long as the worker does), so a node that is lost, or an actor that
is killed, takes its worker with it. The admin API stays on the worker's unix socket on the node;
the server reaches it through :meth:`Replica.admin`.

The class is plain: the launcher makes it a Ray actor (``ray.remote``) where Ray is imported, so
importing this module never imports Ray.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dockyard.api.serving.client import WorkerAdmin
from dockyard.api.serving.config import WorkerConfig
from dockyard.api.serving.logs import WorkerLog
from dockyard.errors import DockyardError, Unavailable

__all__ = ["Replica"]

_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1


class Replica:
    """One serving worker on this actor's node (see the module docstring).

    Args:
        config: The :class:`WorkerConfig` JSON to serve (its host and port are the node's).
        worker_id: Names the worker's log folder.
        env: Variables the worker needs beyond the node's (the artifact store's credentials).
    """

    def __init__(self, config: str, worker_id: str, env: dict[str, str]) -> None:
        import ray

        self.node: str = ray.get_runtime_context().get_node_id()
        address: Any = ray.util.get_node_ip_address  # untyped in Ray
        self.host: str = address()
        self.worker_id = worker_id
        self._folder = Path(tempfile.mkdtemp(prefix=f"dockyard-replica-{worker_id}-"))
        served = WorkerConfig.parse(config).model_copy(
            update={"host": self.host, "port": 0, "admin_socket": None}
        )
        self._config = self._folder / "config.json"
        self._config.write_text(served.model_dump_json())
        self._out = self._folder / "worker.out"
        self._err = self._folder / "worker.err"
        self._env = {**os.environ, **env}
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = threading.Event()
        self._ready: dict[str, Any] | None = None
        # The worker's death signal follows the thread that started it: this one lives until
        # the worker ends.
        threading.Thread(target=self._lifeline, name="dockyard-replica", daemon=True).start()
        self._started.wait()

    def _lifeline(self) -> None:
        with self._out.open("wb") as out, self._err.open("wb") as err:
            try:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "dockyard.runtime.serving.worker",
                        "--config",
                        str(self._config),
                        "--log-dir",
                        str(self._folder / "logs"),
                    ],
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    close_fds=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
                )
            finally:
                self._started.set()
        self._proc.wait()

    def ready(self, timeout_s: float) -> dict[str, Any]:
        """Wait until the worker serves; its address, pid, admin socket and node.

        Raises:
            DockyardError: The worker exited at start (the message says why).
            Unavailable: It did not become ready within ``timeout_s``.
        """
        proc = self._proc
        if proc is None:
            raise DockyardError("the worker could not be started on its node")
        deadline = time.monotonic() + timeout_s
        while self._ready is None:
            self._ready = _ready_line(self._out)
            if self._ready is not None:
                break
            if proc.poll() is not None:
                raise DockyardError(f"a worker exited at start: {self._error_text()}")
            if time.monotonic() > deadline:
                proc.kill()
                raise Unavailable(f"a worker did not become ready within {timeout_s:.0f} s")
            time.sleep(_POLL_S)
        return {
            **self._ready,
            "host": self.host,
            "node": self.node,
            "create_time": time.time(),
        }

    def alive(self) -> bool:
        """Whether the worker still runs."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """SIGTERM: the worker answers what is in flight, then exits."""
        if self.alive() and self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """End the worker at once and remove its files."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(5)
        shutil.rmtree(self._folder, ignore_errors=True)

    def log(self, offset: int, limit: int) -> tuple[int, bytes, tuple[tuple[int, int], ...]]:
        """Up to ``limit`` bytes of the worker's log from ``offset``: the offset they start at
        (later when the worker dropped the ones asked for), the bytes, their time marks."""
        chunk = WorkerLog(self._folder / "logs").read(offset, limit)
        return chunk.offset, chunk.data, chunk.marks

    def admin(self, call: str, argument: str | None, timeout_s: float) -> Any:
        """One call of the worker's admin API (``stats``, ``metrics``, ``config`` or
        ``update_config`` with a config's JSON), as plain data."""
        if self._ready is None:
            raise Unavailable("the worker is not serving yet")
        with WorkerAdmin(str(self._ready["admin_socket"]), timeout_s=timeout_s) as admin:
            if call == "stats":
                return admin.stats()
            if call == "metrics":
                return admin.metrics()
            if call == "config":
                version, config = admin.config()
                return [version, config.model_dump_json()]
            if call == "update_config" and argument is not None:
                # The server's config names the endpoint's address; this worker keeps the
                # node's own (a running worker refuses to move).
                _, running = admin.config()
                where = {k: getattr(running, k) for k in ("host", "port", "admin_socket")}
                return admin.update_config(WorkerConfig.parse(argument).model_copy(update=where))
        raise DockyardError(f"unknown admin call {call!r}")

    def _error_text(self) -> str:
        text = self._err.read_text(errors="replace") if self._err.exists() else ""
        for line in reversed(text.splitlines()):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == "error":
                    return str(record.get("message", line))
        return text.strip()[-1500:] or "no output"


def _die_with_parent() -> None:
    """In the worker, before exec: SIGKILL when the thread that started it ends."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _ready_line(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == "ready":
                    return record
    return None
