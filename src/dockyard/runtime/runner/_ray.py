"""The Ray executor: each job's runner on a Ray cluster (``DOCKYARD_EXECUTOR=ray``).

The server connects to the cluster at ``DOCKYARD_RAY_ADDRESS`` as a Ray driver. ``submit`` creates
a named, detached actor (:class:`~dockyard.runtime.runner._rayhost.RunnerHost`) that asks Ray for
the job's CPUs and memory; Ray places it on a node, where it starts the runner in a temporary
folder. The runner shares nothing with the server but its URL (``DOCKYARD_RAY_SERVER_URL``), its
token and the artifact store, whose credentials travel as the variables ``DOCKYARD_RAY_ENV``
names. The handle is the actor's name and namespace, so a restarted server finds it again.

A job whose node is lost is started again on another node by Ray itself (the actor's
``max_restarts``) while its ``retry_strategy.max_attempts`` allows, and the new runner makes the
job's next attempt; otherwise the host is gone and the scheduler fails the job with the reason
:meth:`RayExecutor.logs` gives.

Ray is imported when the executor is built, never at import: a server that does not use Ray does
not need it installed.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import (
    RUNNER_CACHE,
    Capacity,
    Handle,
    Launch,
    RunnerStatus,
    runner_environment,
)
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.runtime.runner._rayhost import LEDGER, Ledger, RunnerHost, forwarded_environment
from dockyard.settings import Settings

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["RayExecutor", "check", "connect"]

_CONNECT_TIMEOUT_S = 5.0
_ANSWER_S = 0.5  # how long a status call waits for a host before calling it still running
_CALL_TIMEOUT_S = 10.0
_CAPACITY_TTL_S = 1.0
_PENDING_KEPT = 1000


def connect(settings: Settings) -> ModuleType:
    """Import Ray and connect this process to the cluster at ``settings.ray_address``.

    Raises:
        InvalidArgument: Ray is not installed, or no address is set (``field`` names the
            setting).
        Unavailable: Nothing answers at the address.
    """
    ray = check(settings)
    if ray.is_initialized():  # this process is already a driver of a cluster
        return ray
    address = settings.ray_address
    try:
        ray.init(
            address=address,
            namespace=settings.ray_namespace,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise Unavailable(
            f"DOCKYARD_RAY_ADDRESS={address}: could not join the Ray cluster there: {exc}",
            field="ray_address",
        ) from None
    return ray


def check(settings: Settings) -> ModuleType:
    """Ray, once it imports and something listens at ``settings.ray_address`` (see
    :func:`connect` for what is raised); joins nothing."""
    try:
        import ray
    except ImportError as exc:
        raise InvalidArgument(
            f"DOCKYARD_EXECUTOR=ray needs Ray on the server and on every node of the cluster: "
            f"pip install 'dockyard[ray]' ({exc})",
            field="executor",
        ) from None
    address = settings.ray_address
    if not address:
        raise InvalidArgument(
            "DOCKYARD_EXECUTOR=ray needs DOCKYARD_RAY_ADDRESS: the host:port of the Ray "
            "cluster's head (its GCS, port 6379 by default), or auto",
            field="ray_address",
        )
    _probe(address)
    return ray


def _probe(address: str) -> None:
    """Fail fast (not after Ray's own minute of retries) when nothing listens at ``address``."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidArgument(
            f"DOCKYARD_RAY_ADDRESS={address!r} is not host:port (or auto)", field="ray_address"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), _CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise Unavailable(
            f"DOCKYARD_RAY_ADDRESS={address}: no Ray cluster answers there ({exc})",
            field="ray_address",
        ) from None


class RayExecutor:
    """Runners as Ray actors on a cluster (see the module docstring)."""

    name = "ray"
    check = staticmethod(check)

    def __init__(self, settings: Settings) -> None:
        self._ray = connect(settings)
        self._namespace = settings.ray_namespace
        self._server_url = settings.ray_server_url
        self._env = forwarded_environment(dict(os.environ), settings.ray_env)
        self._host = self._ray.remote(RunnerHost)
        self._ledger = (
            self._ray.remote(Ledger)
            .options(
                name=LEDGER,
                namespace=self._namespace,
                lifetime="detached",
                get_if_exists=True,
                num_cpus=0,
                # On the head: its records outlive any worker node.
                resources=self._head(),
            )
            .remote()
        )
        self._pending: dict[str, Any] = {}  # status calls not answered yet, by host
        self._capacity: tuple[float, float] = (0.0, 0.0)  # (when, CPUs)

    def _head(self) -> dict[str, float]:
        head = "node:__internal_head__"
        return {head: 0.001} if head in self._ray.cluster_resources() else {}

    def submit(self, launch: Launch) -> Handle:
        name = f"dockyard-{launch['job']}-{uuid.uuid4().hex[:8]}"
        if self._server_url:
            launch = {**launch, "server_url": self._server_url}
        env = {**self._env, **runner_environment(launch, cache=Path())}
        del env[RUNNER_CACHE]  # each node has its own
        options: dict[str, Any] = {
            "name": name,
            "namespace": self._namespace,
            "lifetime": "detached",
            "num_cpus": self._fitting(launch["cpus"]),
            "max_restarts": max(0, launch.get("attempts", 1) - 1),
            "max_task_retries": 0,
        }
        if launch["memory_mb"]:
            options["memory"] = launch["memory_mb"] * 1024 * 1024
            most = self._largest("memory")
            if most and options["memory"] > most:
                # Ray would keep it waiting for a node that never comes.
                raise OSError(
                    f"no node of the Ray cluster has the {launch['memory_mb']} MB the job asks "
                    f"for (resources.memory_mb); the largest has {most // 2**20:.0f} MB"
                )
        try:
            self._host.options(**options).remote(name, env, self._namespace)
        except (self._ray.exceptions.RayError, ValueError, ConnectionError) as exc:
            raise OSError(f"Ray refused the job's runner: {exc}") from exc
        return {"actor": name, "namespace": self._namespace}

    def _fitting(self, cpus: float) -> float:
        """``cpus``, or the most one node has when that is less: a job runs on one node, and
        the server sizes some jobs (a transform's workers) by the whole cluster's CPUs."""
        largest = self._largest("CPU")
        return min(cpus, largest) if largest > 0 else cpus

    def _largest(self, resource: str) -> float:
        """The most of ``resource`` one live node has (0 when none has any)."""
        found = [n["Resources"].get(resource, 0.0) for n in self._ray.nodes() if n["Alive"]]
        return float(max(found, default=0.0))

    def _actor(self, handle: Handle) -> Any:
        try:
            return self._ray.get_actor(handle["actor"], namespace=handle["namespace"])
        except ValueError:  # ended, or lost with its node
            return None

    def _record(self, handle: Handle) -> dict[str, Any] | None:
        """What the ended runner left; None when the ledger has nothing (or is gone with a
        cluster that was started again)."""
        try:
            ledger = self._ray.get_actor(LEDGER, namespace=handle["namespace"])
            record: dict[str, Any] | None = self._ray.get(
                ledger.get.remote(handle["actor"]), timeout=_CALL_TIMEOUT_S
            )
        except (ValueError, self._ray.exceptions.RayError):
            return None
        return record

    def status(self, handle: Handle) -> RunnerStatus:
        name = handle["actor"]
        errors = self._ray.exceptions
        actor = self._actor(handle)
        if actor is not None:
            ref = self._pending.pop(name, None) or actor.status.remote()
            ready, _ = self._ray.wait([ref], timeout=_ANSWER_S)
            if not ready:
                # Being placed, starting, or on a node Ray has not given up on yet.
                self._pending[name] = ref
                while len(self._pending) > _PENDING_KEPT:  # of jobs that ended meanwhile
                    self._pending.pop(next(iter(self._pending)))
                return {"running": True, "exit_code": None, "detail": f"{name} not answering yet"}
            try:
                status: RunnerStatus = self._ray.get(ref)
                return status
            except errors.ActorUnavailableError:
                return {"running": True, "exit_code": None, "detail": f"{name} unreachable"}
            except errors.RayActorError:
                pass  # it ended meanwhile: the ledger knows
        record = self._record(handle)
        if record is not None:
            return {"running": False, "exit_code": record["exit_code"], "detail": record["detail"]}
        return {"running": False, "exit_code": None, "detail": _gone(name)}

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        actor = self._actor(handle)
        if actor is not None:
            try:
                text: str = self._ray.get(actor.logs.remote(limit), timeout=_CALL_TIMEOUT_S)
                return text
            except self._ray.exceptions.RayError:
                pass
        record = self._record(handle)
        if record is not None:
            tail: str = record["tail"]
            return tail[-limit:] if limit > 0 else ""
        return f"[dockyard] {_gone(handle['actor'])}\n"[-limit:] if limit > 0 else ""

    def stop(self, handle: Handle) -> None:
        actor = self._actor(handle)
        if actor is not None:
            actor.stop.remote()

    def capacity(self) -> Capacity:
        at, cpus = self._capacity
        now = time.monotonic()
        if now - at > _CAPACITY_TTL_S:
            cpus = float(self._ray.cluster_resources().get("CPU", 0.0))
            self._capacity = (now, cpus)
        return {"cpus": cpus}


def _gone(name: str) -> str:
    return (
        f"the job's runner (Ray actor {name}) is gone without a word: its node was lost "
        "(or the actor was killed) and the job has no retry left"
    )
