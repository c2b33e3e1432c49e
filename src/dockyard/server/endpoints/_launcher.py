"""Starting and stopping an endpoint's serving workers: a narrow launcher interface.

A :class:`~dockyard.server.endpoints._fleet.Fleet` decides how many workers serve and what; a
launcher only starts one, says whether it still runs, and stops it. The local launcher runs workers
as detached processes on this machine, all serving one listening socket it holds for the endpoint
(passed as ``--fd``): one accept queue, so a worker that crashes or drains leaves no accepted-but-
unanswered connection behind to be reset while another worker serves (with a socket per worker,
the kernel resets what is queued on a socket when its worker's last thread exits). The socket is
bound with ``SO_REUSEPORT``, so workers a previous server process started keep serving the port
beside the new ones. Each worker writes its output to its bounded log in the endpoint's
``logs/<worker id>`` folder (:mod:`dockyard.api.serving.logs`); its ready line and start errors
still come on the files the launcher gives it. The Ray launcher
(:mod:`dockyard.runtime.serving._raylauncher`) places workers on a cluster's nodes instead, each
on an address of its own that the server's router sends to (the server then holds the
endpoint's port itself, :mod:`dockyard.server.endpoints._port`). Launchers are chosen by name
(``DOCKYARD_WORKER_LAUNCHER``; by default ``ray`` with ``DOCKYARD_EXECUTOR=ray``, else ``local``)
from :data:`dockyard.plugins.WORKER_LAUNCHERS`. A handle is
plain data, kept in the fleet's ``workers.json``, so a restarted server finds the same workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psutil

from dockyard.api.serving.client import WorkerAdmin
from dockyard.api.serving.config import WorkerConfig
from dockyard.api.serving.launcher import READY_TIMEOUT_S, WorkerCalls, WorkerHandle
from dockyard.api.serving.logs import WorkerLog, new_worker_id
from dockyard.errors import DockyardError, Unavailable

if TYPE_CHECKING:
    from dockyard.settings import Settings

__all__ = [
    "LocalWorkerLauncher",
    "WorkerCalls",
    "WorkerHandle",
    "WorkerLauncher",
    "load_launcher",
]

log = logging.getLogger("dockyard.server.endpoints")

_READY_TIMEOUT_S = READY_TIMEOUT_S

_BACKLOG = 2048  # as a worker binds its own socket
_STARTING = "starting-"  # a worker's pid file, from its start until the fleet records it


class WorkerLauncher(Protocol):
    """Starts serving workers and answers for them.

    A launcher whose workers write their logs on another machine also has
    ``copy_logs(folder, handles)``: it copies what they wrote since the last copy into
    ``folder/logs/<worker id>`` (:func:`dockyard.api.serving.logs.copy_chunk`). The local
    launcher's workers write there themselves.

    A launcher whose workers can outlive the server also has ``sweep(folder, recorded)``,
    called when a server first takes up the endpoint: it stops the workers it started there
    that are not among ``recorded`` (worker ids), those a killed server had started but not
    yet recorded because they were still loading. Its ``recorded(folder, handle)`` is called
    once the fleet has recorded a worker it launched, which the sweep need no longer find.
    """

    name: str

    def launch(self, folder: Path, config: WorkerConfig) -> WorkerHandle:
        """Start one worker serving ``config`` (its files in ``folder``); returns once it
        serves (models loaded, port bound).

        Raises:
            DockyardError: The worker exited at start (the message says why).
            Unavailable: It did not become ready in time.
        """
        ...

    def alive(self, handle: WorkerHandle) -> bool:
        """Whether the worker still runs."""
        ...

    def stop(self, handle: WorkerHandle) -> None:
        """Ask the worker to finish what is in flight and exit."""
        ...

    def kill(self, handle: WorkerHandle) -> None:
        """End the worker at once."""
        ...

    def release(self, folder: Path) -> None:
        """Let go of what the launcher holds for the endpoint in ``folder`` (its workers are
        gone: it is being deleted)."""
        ...

    def admin(self, handle: WorkerHandle, timeout_s: float) -> WorkerCalls:
        """The worker's admin API, each call bounded by ``timeout_s``."""
        ...


def load_launcher(settings: Settings) -> WorkerLauncher:
    """The launcher ``settings.worker_launcher`` names."""
    from dockyard.plugins import WORKER_LAUNCHERS, load

    name = settings.worker_launcher or ("ray" if settings.executor == "ray" else "local")
    factory = load(
        WORKER_LAUNCHERS,
        name,
        what="worker launcher",
        field="worker_launcher",
        external=True,
    )
    launcher: WorkerLauncher = factory(settings)
    return launcher


class LocalWorkerLauncher:
    """Workers as detached processes on this machine (their own session: a server restart
    leaves them serving). A handle's start time tells a worker from a program that got its pid
    later."""

    name = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._listeners: dict[Path, tuple[tuple[str, int], socket.socket]] = {}

    def launch(self, folder: Path, config: WorkerConfig) -> WorkerHandle:
        worker_id = new_worker_id()
        config_path = folder / f"config-{worker_id}.json"
        config_path.write_text(config.model_dump_json())
        out_path = folder / f"worker-{worker_id}.out"
        log_path = folder / f"worker-{worker_id}.log"
        log_dir = folder / "logs" / worker_id
        listener = self._listener(folder, config.host, config.port)
        with out_path.open("wb") as out, log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dockyard.runtime.serving.worker",
                    "--config",
                    str(config_path),
                    "--fd",
                    str(listener.fileno()),
                    "--log-dir",
                    str(log_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                start_new_session=True,
                close_fds=True,
                pass_fds=(listener.fileno(),),
            )
        with self._lock:
            self._children[proc.pid] = proc
        # Until the fleet records the worker, only this file says it exists: a server killed
        # while the worker loads leaves it to the next one's sweep.
        created = psutil.Process(proc.pid).create_time()
        starting = folder / f"{_STARTING}{worker_id}.json"
        starting.write_text(json.dumps({"pid": proc.pid, "create_time": created}))
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = _ready_line(out_path)
            if ready is not None:
                return WorkerHandle(proc.pid, created, ready["admin_socket"], worker_id)
            if proc.poll() is not None:
                starting.unlink(missing_ok=True)
                reason = _error_text(log_path, log_dir)
                raise DockyardError(f"a worker exited at start: {reason}")
            time.sleep(0.05)
        proc.kill()
        starting.unlink(missing_ok=True)
        raise Unavailable(f"a worker did not become ready within {_READY_TIMEOUT_S:.0f} s")

    def recorded(self, folder: Path, handle: WorkerHandle) -> None:
        """The fleet recorded ``handle``: its starting file has said all it had to."""
        (folder / f"{_STARTING}{handle.worker_id}.json").unlink(missing_ok=True)

    def sweep(self, folder: Path, recorded: set[str]) -> None:
        """Stop the workers started in ``folder`` that are not ``recorded``: a server killed
        while they loaded never recorded them, and left alone they would serve the endpoint's
        port beside the fleet, with a configuration nobody follows, even once it is deleted.
        They drain (SIGTERM), as they may have begun to serve."""
        for path in folder.glob(f"{_STARTING}*.json"):
            worker_id = path.stem.removeprefix(_STARTING)
            if worker_id not in recorded:
                try:
                    found = json.loads(path.read_text())
                    handle = WorkerHandle(int(found["pid"]), float(found["create_time"]), "")
                except (OSError, ValueError, KeyError, TypeError):
                    handle = None
                if handle is not None and self.alive(handle):
                    log.warning("stopping worker %s, started but never recorded", handle.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(handle.pid, signal.SIGTERM)
            path.unlink(missing_ok=True)

    def alive(self, handle: WorkerHandle) -> bool:
        with self._lock:
            child = self._children.get(handle.pid)
        if child is not None and child.poll() is not None:
            with self._lock:
                self._children.pop(handle.pid, None)  # reaped: no zombie left behind
            return False
        try:
            proc = psutil.Process(handle.pid)
            return (
                abs(proc.create_time() - handle.create_time) < 1
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False

    def stop(self, handle: WorkerHandle) -> None:
        if self.alive(handle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.pid, signal.SIGTERM)

    def admin(self, handle: WorkerHandle, timeout_s: float) -> WorkerCalls:
        return WorkerAdmin(handle.admin_socket, timeout_s=timeout_s)

    def release(self, folder: Path) -> None:
        with self._lock:
            held = self._listeners.pop(folder, None)
        if held is not None:
            held[1].close()

    def _listener(self, folder: Path, host: str, port: int) -> socket.socket:
        """The endpoint's listening socket, bound on first use."""
        with self._lock:
            held = self._listeners.get(folder)
            if held is not None and held[0] == (host, port):
                return held[1]
            sock = _bind(host, port)
            self._listeners[folder] = ((host, port), sock)
        if held is not None:
            held[1].close()  # the endpoint moved: its old workers keep their own copies
        return sock

    def kill(self, handle: WorkerHandle) -> None:
        if self.alive(handle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.pid, signal.SIGKILL)
        with self._lock:
            child = self._children.pop(handle.pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(5)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Workers a previous server process started still listen on the port, each on its
        # own socket or the previous server's: they keep serving beside the new ones.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _ready_line(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == "ready":
                    return record
    return None


def _error_text(log_path: Path, log_dir: Path) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if not text.strip():  # died after it redirected its output (an uncaught error)
        log = WorkerLog(log_dir)
        end = log.bounds()[1]
        text = log.read(max(0, end - 4096), 4096).data.decode(errors="replace")
    for line in reversed(text.splitlines()):
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == "error":
                return str(record.get("message", line))
    return text.strip()[-1500:] or "no output"
