"""Endpoint replicas across a Ray cluster's nodes (``DOCKYARD_WORKER_LAUNCHER=ray``, the default
with ``DOCKYARD_EXECUTOR=ray``).

Each worker is a detached, named :class:`~dockyard.runtime.serving._rayreplica.Replica` actor
pinned to one node, which starts Dockyard's own serving worker there and reports the address it
listens on (the node's, as Ray knows it). The server's router
(:mod:`dockyard.server.endpoints._router`) sends an endpoint's requests to its replicas'
addresses in turn, from the invocations route and from the endpoint's own port, which the
server binds and forwards (:mod:`dockyard.server.endpoints._port`). A new replica
goes to the live node with CPUs that holds the fewest of the endpoint's replicas, so two
replicas land on two nodes while there are two.

When a node is lost, Ray ends its actors and their workers with them: :meth:`alive` then says
so, the supervisor reaps the worker and starts a replacement on a live node (the same path as a
crashed local worker), and the router, which saw the failed connection first, has already sent
the request on to another replica. A handle names its actor, so a restarted server finds its
replicas again.

A replica's worker writes its log on its node; :meth:`RayWorkerLauncher.copy_logs` copies what it
wrote since the last copy into the endpoint's folder on the server (the supervisor every few
seconds, a reader of the logs first), where the endpoint's logs are read as a local worker's
are, and kept after the node is gone.

Why actors starting Dockyard's worker rather than Ray Serve: the request path stays the worker's
(one process, no Ray hop per request), the rollouts, keys, capture and admin API stay the same
code as locally, and Ray places and watches the replicas. The README's scale-out section gives
the measured trade-off.

It lives beside the Ray executor, on the runtime side, and is loaded by name
(:data:`dockyard.plugins.WORKER_LAUNCHERS`); it speaks the server's launcher interface through
the plain types of :mod:`dockyard.api.serving.launcher`. Ray is imported when the launcher is
built, never at import.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from dockyard.api.serving.config import WorkerConfig
from dockyard.api.serving.launcher import READY_TIMEOUT_S, WorkerCalls, WorkerHandle
from dockyard.api.serving.logs import LogChunk, WorkerLog, copy_chunk, new_worker_id
from dockyard.errors import DockyardError, Unavailable
from dockyard.runtime.runner import connect as connect_ray
from dockyard.runtime.runner import forwarded_environment
from dockyard.runtime.serving._rayreplica import Replica
from dockyard.settings import Settings

__all__ = ["RayWorkerLauncher"]

#: A replica actor's name is this, the endpoint's name and the worker's id.
REPLICA_PREFIX = "dockyard-replica-"
_ALIVE_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 30.0
_CONCURRENCY = 8  # admin calls and liveness checks while a replica loads its models
_LOG_CHUNK = 1 << 20  # bytes of a replica's log copied per call
_LOG_CATCH_UP = 8 << 20  # bytes copied at the most in one copy of an endpoint's logs
_LOG_ANSWER_S = 0.5  # how long a copy waits for the replicas' answers


class RayWorkerLauncher:
    """Serving workers as Ray actors on the cluster's nodes (see the module docstring)."""

    name = "ray"

    def __init__(self, settings: Settings) -> None:
        self._ray = connect_ray(settings)
        self._namespace = settings.ray_namespace
        self._env = forwarded_environment(dict(os.environ), settings.ray_env)
        self._lock = threading.Lock()
        self._actors: dict[str, Any] = {}  # by replica name: each lookup is a call to Ray's GCS
        self._placed: dict[str, tuple[Path, str]] = {}  # live replicas: endpoint folder, node

    # -- the launcher interface ----------------------------------------------------------------

    def launch(self, folder: Path, config: WorkerConfig) -> WorkerHandle:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        worker_id = new_worker_id()
        name = f"{REPLICA_PREFIX}{folder.name}-{worker_id}"
        node = self._choose(folder)
        actor = (
            self._ray.remote(Replica)
            .options(
                name=name,
                namespace=self._namespace,
                lifetime="detached",
                num_cpus=0,
                max_concurrency=_CONCURRENCY,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            )
            .remote(config.model_dump_json(), worker_id, self._env)
        )
        timeout = READY_TIMEOUT_S
        try:
            info = self._ray.get(actor.ready.remote(timeout), timeout=timeout + _CALL_TIMEOUT_S)
        except self._ray.exceptions.GetTimeoutError:
            self._ray.kill(actor)
            raise Unavailable(f"a replica did not become ready within {timeout:.0f} s") from None
        except self._ray.exceptions.RayError as exc:
            self._ray.kill(actor)
            cause = getattr(exc, "cause", None)
            if isinstance(cause, DockyardError):
                raise cause from None
            raise DockyardError(f"a replica could not start on node {node[:12]}: {exc}") from None
        with self._lock:
            self._actors[name] = actor
            self._placed[name] = (folder, node)
        return WorkerHandle(
            pid=int(info["pid"]),
            create_time=float(info["create_time"]),
            admin_socket=str(info["admin_socket"]),
            worker_id=worker_id,
            host=str(info["host"]),
            port=int(info["port"]),
            replica=name,
            node=str(info["node"]),
        )

    def alive(self, handle: WorkerHandle) -> bool:
        actor = self._actor(handle)
        if actor is None:
            return False
        try:
            alive = bool(self._ray.get(actor.alive.remote(), timeout=_ALIVE_TIMEOUT_S))
        except self._ray.exceptions.GetTimeoutError:
            return True  # busy, or its node not declared lost yet: the router copes meanwhile
        except self._ray.exceptions.RayError:
            alive = False
        with self._lock:
            if alive:
                self._placed.setdefault(handle.replica, (Path(), handle.node))
            else:
                self._actors.pop(handle.replica, None)
                self._placed.pop(handle.replica, None)
        return alive

    def stop(self, handle: WorkerHandle) -> None:
        actor = self._actor(handle)
        if actor is not None:
            actor.stop.remote()

    def kill(self, handle: WorkerHandle) -> None:
        actor = self._actor(handle)
        if actor is None:
            return
        # Gone with its node: nothing left to remove.
        with contextlib.suppress(self._ray.exceptions.RayError):
            self._ray.get(actor.kill.remote(), timeout=_CALL_TIMEOUT_S)
        self._ray.kill(actor)
        with self._lock:
            self._actors.pop(handle.replica, None)
            self._placed.pop(handle.replica, None)

    def release(self, folder: Path) -> None:
        pass  # no port is held for an endpoint whose workers have addresses of their own

    def admin(self, handle: WorkerHandle, timeout_s: float) -> WorkerCalls:
        return _Relayed(self, handle, timeout_s)

    def copy_logs(self, folder: Path, handles: list[WorkerHandle]) -> None:
        """Copy what each replica's worker wrote since the last copy into ``folder/logs``:
        every replica asked at once, for ``_LOG_CHUNK`` bytes at a time, until it is caught
        up or ``_LOG_CATCH_UP`` bytes were copied (the rest comes next time). A replica that
        is gone, or does not answer within ``_LOG_ANSWER_S``, is left for the next copy."""
        behind: list[tuple[Path, Any]] = []
        for handle in handles:
            actor = self._actor(handle)
            if actor is not None and handle.worker_id:
                behind.append((folder / "logs" / handle.worker_id, actor))
        copied = 0
        while behind and copied < _LOG_CATCH_UP:
            asked = [
                (copy, actor, actor.log.remote(WorkerLog(copy).bounds()[1], _LOG_CHUNK))
                for copy, actor in behind
            ]
            refs = [ref for _, _, ref in asked]
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=_LOG_ANSWER_S)
            answered = {id(ref) for ref in ready}
            behind = []
            for copy, actor, ref in asked:
                if id(ref) not in answered:
                    continue
                try:
                    offset, data, marks = self._ray.get(ref)
                except self._ray.exceptions.RayError:
                    continue
                copy_chunk(copy, LogChunk(int(offset), bytes(data), tuple(map(tuple, marks))))
                copied += len(data)
                if len(data) >= _LOG_CHUNK:  # more is waiting
                    behind.append((copy, actor))

    # -- helpers -------------------------------------------------------------------------------

    def _actor(self, handle: WorkerHandle) -> Any:
        if not handle.replica:
            return None
        with self._lock:
            actor = self._actors.get(handle.replica)
        if actor is None:
            try:
                actor = self._ray.get_actor(handle.replica, namespace=self._namespace)
            except ValueError:  # gone: its node was lost, or the cluster started again
                return None
            with self._lock:
                self._actors[handle.replica] = actor
        return actor

    def _choose(self, folder: Path) -> str:
        """The live node with CPUs holding the fewest of this endpoint's replicas."""
        nodes = [
            str(n["NodeID"])
            for n in self._ray.nodes()
            if n["Alive"] and n["Resources"].get("CPU", 0) > 0
        ]
        if not nodes:
            raise Unavailable("no live node of the Ray cluster offers CPUs for a replica")
        with self._lock:
            held = [node for where, node in self._placed.values() if where == folder]
        return min(sorted(nodes), key=held.count)

    def call(self, handle: WorkerHandle, name: str, argument: str | None, timeout_s: float) -> Any:
        """One admin call relayed by the replica's actor.

        Raises:
            DockyardError: The worker refused it.
            OSError: The replica is gone or did not answer in time.
        """
        actor = self._actor(handle)
        if actor is None:
            raise OSError(f"replica {handle.replica} is gone")
        try:
            return self._ray.get(
                actor.admin.remote(name, argument, timeout_s), timeout=timeout_s + 5
            )
        except self._ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, DockyardError):
                raise cause from None
            raise OSError(f"replica {handle.replica}: {exc}") from None
        except self._ray.exceptions.RayError as exc:
            raise OSError(f"replica {handle.replica} is not answering: {exc}") from None


class _Relayed:
    """A replica's admin API through its actor (the worker's unix socket is on its node)."""

    def __init__(self, launcher: RayWorkerLauncher, handle: WorkerHandle, timeout_s: float):
        self._launcher = launcher
        self._handle = handle
        self._timeout_s = timeout_s

    def __enter__(self) -> _Relayed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _call(self, name: str, argument: str | None = None) -> Any:
        return self._launcher.call(self._handle, name, argument, self._timeout_s)

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self._call("stats")
        return found

    def metrics(self) -> str:
        return str(self._call("metrics"))

    def config(self) -> tuple[int, WorkerConfig]:
        version, config = self._call("config")
        return int(version), WorkerConfig.parse(config)

    def update_config(self, config: WorkerConfig) -> dict[str, Any]:
        found: dict[str, Any] = self._call("update_config", config.model_dump_json())
        return found
