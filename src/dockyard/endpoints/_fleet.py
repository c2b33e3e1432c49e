"""The worker processes of one endpoint: launch, reattach, health, configuration, drain.

Workers run detached (their own session) and are recorded in ``workers.json`` in the endpoint's
folder, so a server restart reattaches to them: the endpoint keeps answering while the server is
down. Every worker binds the endpoint's port with ``SO_REUSEPORT``; adding or draining one never
closes the port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from dockyard.errors import DockyardError, Unavailable
from dockyard.serving import WorkerAdmin, WorkerConfig

__all__ = ["Fleet", "WorkerHandle"]

_READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class WorkerHandle:
    """One worker process."""

    pid: int
    create_time: float
    admin_socket: str

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return (
                abs(proc.create_time() - self.create_time) < 1
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False


class Fleet:
    """Workers of one endpoint, all serving the same :class:`WorkerConfig`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self.workers: list[WorkerHandle] = self._load()
        self.config: WorkerConfig | None = None

    # -- persistence --------------------------------------------------------------------------

    def _load(self) -> list[WorkerHandle]:
        path = self.folder / "workers.json"
        if not path.exists():
            return []
        handles = [WorkerHandle(**item) for item in json.loads(path.read_text())]
        return [h for h in handles if h.alive()]

    def _save(self) -> None:
        path = self.folder / "workers.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(h) for h in self.workers]))
        temporary.replace(path)

    # -- processes ----------------------------------------------------------------------------

    def launch(self, config: WorkerConfig) -> WorkerHandle:
        """Start one worker and wait until it serves (models loaded, port bound)."""
        stamp = f"{time.time_ns()}"
        config_path = self.folder / f"config-{stamp}.json"
        config_path.write_text(config.model_dump_json())
        out_path = self.folder / f"worker-{stamp}.out"
        log_path = self.folder / f"worker-{stamp}.log"
        with out_path.open("wb") as out, log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dockyard.serving.worker", "--config", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        self._children[proc.pid] = proc
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = _ready_line(out_path)
            if ready is not None:
                handle = WorkerHandle(
                    proc.pid, psutil.Process(proc.pid).create_time(), ready["admin_socket"]
                )
                with self._lock:
                    self.workers.append(handle)
                    self.config = config
                    self._save()
                return handle
            if proc.poll() is not None:
                raise DockyardError(f"a worker exited at start: {_error_text(log_path)}")
            time.sleep(0.05)
        proc.kill()
        raise Unavailable(f"a worker did not become ready within {_READY_TIMEOUT_S:.0f} s")

    def reap(self) -> list[WorkerHandle]:
        """Forget workers that died; returns them."""
        for pid, child in list(self._children.items()):
            if child.poll() is not None:
                del self._children[pid]
        with self._lock:
            dead = [h for h in self.workers if not h.alive()]
            if dead:
                self.workers = [h for h in self.workers if h not in dead]
                self._save()
        return dead

    def push(self, config: WorkerConfig) -> None:
        """Apply ``config`` on every worker (each loads new models before switching)."""
        for handle in list(self.workers):
            with WorkerAdmin(handle.admin_socket) as admin:
                admin.update_config(config)
        self.config = config

    def current_config(self) -> WorkerConfig | None:
        """What the workers serve now (asked from a live worker after a reattach)."""
        if self.config is None and self.workers:
            with (
                contextlib.suppress(DockyardError, OSError),
                WorkerAdmin(self.workers[0].admin_socket, timeout_s=5) as admin,
            ):
                self.config = admin.config()[1]
        return self.config

    def stats(self) -> list[dict[str, Any]]:
        out = []
        for handle in list(self.workers):
            try:
                with WorkerAdmin(handle.admin_socket, timeout_s=5) as admin:
                    out.append(admin.stats())
            except (DockyardError, OSError):
                continue  # a worker that just died: reap() will replace it
        return out

    def metrics(self) -> list[tuple[int, str]]:
        out = []
        for handle in list(self.workers):
            try:
                with WorkerAdmin(handle.admin_socket, timeout_s=5) as admin:
                    out.append((handle.pid, admin.metrics()))
            except (DockyardError, OSError):
                continue
        return out

    def drain_one(self, handle: WorkerHandle, timeout_s: float = 60.0) -> None:
        """Stop one worker gracefully: it answers what is in flight, then exits."""
        with self._lock:
            self.workers = [h for h in self.workers if h != handle]
            self._save()
        with contextlib.suppress(ProcessLookupError):
            os.kill(handle.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while handle.alive() and time.monotonic() < deadline:
            child = self._children.get(handle.pid)
            if child is not None:
                child.poll()
            time.sleep(0.05)
        if handle.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.pid, signal.SIGKILL)
        self._children.pop(handle.pid, None)

    def drain_all(self) -> None:
        for handle in list(self.workers):
            self.drain_one(handle)


def _ready_line(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == "ready":
                    return record
    return None


def _error_text(log_path: Path) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    for line in reversed(text.splitlines()):
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == "error":
                return str(record.get("message", line))
    return text.strip()[-1500:] or "no output"
