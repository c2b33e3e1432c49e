"""The workers of one endpoint: launch, reattach, health, configuration, drain.

Workers are started and stopped through a launcher (:mod:`dockyard.server.endpoints._launcher`:
local processes today) and recorded in ``workers.json`` in the endpoint's folder, so a server
restart reattaches to them: the endpoint keeps answering while the server is down. The workers
serve the endpoint's port (a listening socket the launcher shares among them); adding, draining
or losing one never closes the port. Each worker's output goes to its bounded log in
``logs/<worker id>`` (:mod:`dockyard.server.endpoints._logs`); a launcher whose workers run on
other machines copies their logs there (:meth:`Fleet.copy_logs`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dockyard.api.serving.config import WorkerConfig
from dockyard.errors import Conflict, DockyardError
from dockyard.server.endpoints._launcher import WorkerHandle, WorkerLauncher, load_launcher
from dockyard.server.endpoints._logs import EndpointLogs
from dockyard.server.store import Database, LeaderLock
from dockyard.settings import Settings

__all__ = ["Fleet", "WorkerHandle", "replica_addresses", "stop_fleets"]

log = logging.getLogger("dockyard.server.endpoints")

#: The name the endpoints' supervisor leads under (:class:`~dockyard.server.store.LeaderLock`).
SUPERVISOR = "endpoints"


def replica_addresses(folder: Path) -> list[tuple[str, int]]:
    """Where the endpoint's workers in ``folder`` listen when each has an address of its own
    (replicas on a cluster's nodes), as last recorded; empty when they serve the endpoint's
    port. Read by the server's router, which may run beside another server's supervisor."""
    try:
        recorded = json.loads((folder / "workers.json").read_text())
    except (OSError, ValueError):
        return []
    return [(str(w["host"]), int(w["port"])) for w in recorded if w.get("host") and w.get("port")]


def stop_fleets(
    settings: Settings, db: Database, grace_s: float
) -> tuple[dict[str, int], dict[str, str]]:
    """Stop the workers of every endpoint under ``settings.home`` (:meth:`Fleet.stop_all`),
    which outlive the server by design: how many each endpoint had running, and the endpoints
    whose record could not be read (with why). The other endpoints are stopped regardless.

    Raises:
        Conflict: A server over this database looks after the endpoints (its supervisor
            would start the workers again at once).
    """
    root = settings.home / "endpoints"
    if not root.is_dir():
        return {}, {}
    lead = LeaderLock(db, settings.home, SUPERVISOR)
    if not lead.try_acquire():
        raise Conflict(
            f"a server over {settings.home} looks after its endpoints and would start their "
            "workers again: stop that server first"
        )
    stopped: dict[str, int] = {}
    problems: dict[str, str] = {}
    try:
        launcher = load_launcher(settings)
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            try:
                stopped[folder.name] = Fleet(folder, launcher).stop_all(grace_s)
            except (OSError, ValueError, TypeError) as exc:  # a torn or hand-edited record
                problems[folder.name] = f"{folder / 'workers.json'} could not be read: {exc}"
    finally:
        lead.release()
    return stopped, problems


class Fleet:
    """Workers of one endpoint, all serving the same :class:`WorkerConfig`."""

    def __init__(self, folder: Path, launcher: WorkerLauncher) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._launcher = launcher
        self._lock = threading.Lock()
        self.workers: list[WorkerHandle] = self._load()
        self.config: WorkerConfig | None = None

    # -- persistence --------------------------------------------------------------------------

    def _load(self) -> list[WorkerHandle]:
        path = self.folder / "workers.json"
        if not path.exists():
            return []
        handles = [WorkerHandle(**item) for item in json.loads(path.read_text())]
        return [h for h in handles if self._launcher.alive(h)]

    def _save(self) -> None:
        path = self.folder / "workers.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(h) for h in self.workers]))
        temporary.replace(path)

    def sweep(self) -> None:
        """Stop the workers a killed server started here but never recorded (see
        :class:`WorkerLauncher`). Only for the supervisor that leads, before it launches any:
        a worker this process is starting is not recorded yet either."""
        sweep = getattr(self._launcher, "sweep", None)
        if sweep is not None:
            sweep(self.folder, {h.worker_id for h in self.workers if h.worker_id})

    # -- workers ------------------------------------------------------------------------------

    def launch(self, config: WorkerConfig) -> WorkerHandle:
        """Start one worker and wait until it serves (models loaded, port bound)."""
        handle = self._launcher.launch(self.folder, config)
        with self._lock:
            self.workers.append(handle)
            self.config = config
            self._save()
        recorded = getattr(self._launcher, "recorded", None)
        if recorded is not None:
            recorded(self.folder, handle)
        self.logs().prune()
        return handle

    def logs(self) -> EndpointLogs:
        """The endpoint's workers' logs (those of exited workers too), with what workers on
        other machines wrote up to now."""
        self.copy_logs()
        return EndpointLogs(self.folder, {h.worker_id for h in self.workers if h.worker_id})

    def copy_logs(self, handles: list[WorkerHandle] | None = None) -> None:
        """Copy what the workers (``handles``, default all) wrote on other machines since the
        last copy into the endpoint's folder; a no-op for a launcher whose workers write
        there themselves."""
        copy = getattr(self._launcher, "copy_logs", None)
        if copy is None:
            return
        try:
            copy(self.folder, self.workers if handles is None else handles)
        except Exception:  # a cluster not answering, say: the next copy catches up
            log.warning(
                "endpoint %s: copying its workers' logs failed", self.folder.name, exc_info=True
            )

    def reap(self) -> list[WorkerHandle]:
        """Forget workers that died (their logs copied first, while they can be); returns
        them."""
        with self._lock:
            dead = [h for h in self.workers if not self._launcher.alive(h)]
            if dead:
                self.copy_logs(dead)
                self.workers = [h for h in self.workers if h not in dead]
                self._save()
        return dead

    def stop_all(self, grace_s: float) -> int:
        """Stop every worker (and any a killed server started but never recorded): asked to
        finish, then ended after ``grace_s``. The endpoint itself is left as it is, so the next
        server that takes it up starts its workers again. Returns how many were running."""
        self.sweep()
        running = [h for h in self.workers if self._launcher.alive(h)]
        for handle in running:
            self._launcher.stop(handle)
        deadline = time.monotonic() + grace_s
        while any(self._launcher.alive(h) for h in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        for handle in running:
            self._launcher.kill(handle)  # a no-op for one that exited
        self.reap()
        return len(running)

    def push(self, config: WorkerConfig) -> None:
        """Apply ``config`` on every worker (each loads new models before switching)."""
        for handle in list(self.workers):
            with self._launcher.admin(handle, 120.0) as admin:
                admin.update_config(config)
        self.config = config

    def current_config(self) -> WorkerConfig | None:
        """What the workers serve now (asked from a live worker after a reattach)."""
        if self.config is None and self.workers:
            with (
                contextlib.suppress(DockyardError, OSError),
                self._launcher.admin(self.workers[0], 5) as admin,
            ):
                self.config = admin.config()[1]
        return self.config

    def stats(self) -> list[dict[str, Any]]:
        """Each worker's live counters, and under ``worker`` who and where it is: its id (its
        log's name), pid, address, and for a replica on a cluster its node."""
        out = []
        for handle in list(self.workers):
            try:
                with self._launcher.admin(handle, 5) as admin:
                    found = admin.stats()
            except (DockyardError, OSError):
                continue  # a worker that just died: reap() will replace it
            worker = found.setdefault("worker", {})
            worker.update(id=handle.worker_id, pid=handle.pid)
            if handle.node:
                worker.update(node=handle.node, host=handle.host, port=handle.port)
            out.append(found)
        return out

    def metrics(self) -> list[tuple[int, str]]:
        out = []
        for handle in list(self.workers):
            try:
                with self._launcher.admin(handle, 5) as admin:
                    out.append((handle.pid, admin.metrics()))
            except (DockyardError, OSError):
                continue
        return out

    def drain_one(self, handle: WorkerHandle, timeout_s: float = 60.0) -> None:
        """Stop one worker gracefully: it answers what is in flight, then exits."""
        with self._lock:
            self.workers = [h for h in self.workers if h != handle]
            self._save()
        self._launcher.stop(handle)
        deadline = time.monotonic() + timeout_s
        while self._launcher.alive(handle) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.copy_logs([handle])  # its last lines, before its files go with it
        self._launcher.kill(handle)

    def drain_all(self) -> None:
        """Stop every worker, then release the endpoint's port."""
        for handle in list(self.workers):
            self.drain_one(handle)
        self._launcher.release(self.folder)
