"""The Ray executor: each job's runner on a Ray cluster (``DOCKYARD_EXECUTOR=ray``).

The server connects to the cluster at ``DOCKYARD_RAY_ADDRESS`` as a Ray driver. ``submit`` hands
the job to the cluster's dispatcher (:mod:`dockyard.runtime.runner._raydispatch`), which holds the
job's CPUs, memory and GPUs as a placement group, so Ray places and limits jobs by their resources,
and has the long-lived host of the node Ray chose (:mod:`dockyard.runtime.runner._rayhost`) start
the runner in a temporary folder: a process, not a new Ray worker per job. The runner shares
nothing with the server but its URL (``DOCKYARD_RAY_SERVER_URL``), its token and the artifact
store, whose credentials travel as the variables ``DOCKYARD_RAY_ENV`` names. The handle is the
runner's name and namespace, so a restarted server finds it again.

A job whose node is lost is started again on another node by the dispatcher while its
``retry_strategy.max_attempts`` allows, and the new runner makes the job's next attempt;
otherwise the scheduler fails the job with the reason :meth:`RayExecutor.logs` gives.

Ray is imported when the executor is built, never at import: a server that does not use Ray does
not need it installed.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
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
from dockyard.runtime.runner._contract import SHARDS_ON_RAY
from dockyard.runtime.runner._raydispatch import DISPATCHER, Dispatcher, gone
from dockyard.runtime.runner._rayhost import forwarded_environment
from dockyard.settings import Settings

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["RayExecutor", "check", "connect"]

_CONNECT_TIMEOUT_S = 5.0
_ANSWER_S = 0.5  # how long a status call waits for the dispatcher before calling it running
_CALL_TIMEOUT_S = 10.0
_CAPACITY_TTL_S = 1.0
_LEAST_CPU = 0.01  # a bundle holds something: a job asking for nothing holds this


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
    # ray.init makes SIGTERM exit the process at once; the server's own handler drains first.
    kept = _sigterm_handler()
    try:
        ray.init(
            address=address,
            namespace=settings.ray_namespace,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise Unavailable(
            f"DOCKYARD_RAY_ADDRESS={address}: could not join the Ray cluster there: {exc}"
            f"{_auth_hint()}",
            field="ray_address",
        ) from None
    finally:
        if kept is not None:
            signal.signal(signal.SIGTERM, kept)
    return ray


def _sigterm_handler() -> Any:
    """This process's SIGTERM handler, where it can be put back (the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.getsignal(signal.SIGTERM)


def _auth_hint() -> str:
    """What to check when a cluster that answers refuses to be joined: Ray clusters started
    with token authentication (``ray start`` turns it on by default) refuse a driver without
    the token, and Ray's own error does not say so."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return (
            " (the token given does not match the cluster's: RAY_AUTH_TOKEN or ~/.ray/auth_token)"
        )
    return (
        " (a cluster with token authentication refuses a server without its token: start the "
        "server with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
        "~/.ray/auth_token)"
    )


def check(settings: Settings) -> ModuleType:
    """Ray, once it imports and something listens at ``settings.ray_address`` (see
    :func:`connect` for what is raised); joins nothing."""
    # Ray's core installs a crash handler that catches SIGTERM too and prints a register dump,
    # as if the server had crashed, over an ordinary stop (read once, as Ray is imported).
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
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


def _running(detail: str) -> RunnerStatus:
    return {"running": True, "exit_code": None, "detail": detail}


def _gone(name: str) -> RunnerStatus:
    return {"running": False, "exit_code": None, "detail": gone(name)}


class RayExecutor:
    """Runners as Ray actors on a cluster (see the module docstring)."""

    name = "ray"
    check = staticmethod(check)

    def __init__(self, settings: Settings) -> None:
        self._ray = connect(settings)
        self._namespace = settings.ray_namespace
        self._server_url = settings.ray_server_url
        self._address = str(settings.ray_address)
        self._env = forwarded_environment(dict(os.environ), settings.ray_env)
        self._dispatcher = (
            self._ray.remote(Dispatcher)
            .options(
                name=DISPATCHER,
                namespace=self._namespace,
                lifetime="detached",
                get_if_exists=True,
                num_cpus=0,
                max_concurrency=1000,  # status calls meanwhile a job is being placed
                # On the head: its records outlive any worker node.
                resources=self._head(),
            )
            .remote(self._namespace)
        )
        # The nodes' hosts start now, not with the first job of each node.
        self._dispatcher.warm.remote()
        self._pending: dict[str, tuple[Any, list[str]]] = {}  # a status call, by namespace
        self._one_by_one: set[str] = set()  # namespaces whose dispatcher lacks statuses()
        self._capacity: tuple[float, Capacity] = (-_CAPACITY_TTL_S, {"cpus": 0.0})  # when, what

    def _head(self) -> dict[str, float]:
        head = "node:__internal_head__"
        return {head: 0.001} if head in self._ray.cluster_resources() else {}

    def submit(self, launch: Launch) -> Handle:
        name = f"dockyard-{launch['job']}-{uuid.uuid4().hex[:8]}"
        if self._server_url:
            launch = {**launch, "server_url": self._server_url}
        env = {**self._env, **runner_environment(launch, cache=Path())}
        del env[RUNNER_CACHE]  # each node has its own
        env[SHARDS_ON_RAY] = self._address  # a transform's shards spread over the cluster
        bundle = {"CPU": self._fitting(launch["cpus"])}
        if launch["memory_mb"]:
            bundle["memory"] = launch["memory_mb"] * 1024 * 1024
            most = self._largest("memory")
            if most and bundle["memory"] > most:
                # Ray would keep it waiting for a node that never comes.
                raise OSError(
                    f"no node of the Ray cluster has the {launch['memory_mb']} MB the job asks "
                    f"for (resources.memory_mb); the largest has {most // 2**20:.0f} MB"
                )
        gpus = launch.get("gpus", 0)
        if gpus:
            bundle["GPU"] = float(gpus)
            most = self._largest("GPU")
            if gpus > most:  # refused at submit; a node with GPUs may have left since
                raise OSError(
                    f"no node of the Ray cluster has the {gpus} GPU(s) the job asks for "
                    f"(resources.gpus); the largest has {most:g}"
                )
        bundle = {k: v for k, v in bundle.items() if v > 0} or {"CPU": _LEAST_CPU}

        attempts = max(1, launch.get("attempts", 1))
        try:
            self._ray.get(
                self._dispatcher.launch.remote(name, env, bundle, attempts),
                timeout=_CALL_TIMEOUT_S,
            )
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

    def _dispatcher_of(self, namespace: str) -> Any:
        if namespace == self._namespace:
            return self._dispatcher
        try:
            return self._ray.get_actor(DISPATCHER, namespace=namespace)
        except ValueError:  # gone with a cluster that was started again
            return None

    def status(self, handle: Handle) -> RunnerStatus:
        return self.statuses([handle])[0]

    def statuses(self, handles: list[Handle]) -> list[RunnerStatus]:
        """Each runner's status: one call to the dispatcher of each namespace, whatever the
        number of runners."""
        names: dict[str, list[str]] = {}
        for handle in handles:
            names.setdefault(handle["namespace"], []).append(handle["actor"])
        found: dict[tuple[str, str], RunnerStatus] = {}
        for namespace, asked in names.items():
            said = self._ask(namespace, asked)
            found.update(((namespace, name), status) for name, status in said.items())
        return [found[handle["namespace"], handle["actor"]] for handle in handles]

    def _ask(self, namespace: str, names: list[str]) -> dict[str, RunnerStatus]:
        """The status of runners ``names`` of ``namespace``. A dispatcher slower than
        ``_ANSWER_S`` keeps its call: its runners are called running meanwhile, and a later
        pass takes the answer (and asks about the runners it did not cover). A dispatcher
        started by an older server, still running on the cluster, has no ``statuses``: it is
        asked about each runner."""
        dispatcher = self._dispatcher_of(namespace)
        if dispatcher is None:
            return {name: _gone(name) for name in names}
        if namespace in self._one_by_one:
            return self._ask_each(dispatcher, names)
        pending = self._pending.pop(namespace, None)
        try:
            ref, asked = pending if pending else (dispatcher.statuses.remote(names), names)
        except AttributeError:  # the actor's class, as Ray knows it, has no such method
            self._one_by_one.add(namespace)
            return self._ask_each(dispatcher, names)
        ready, _ = self._ray.wait([ref], timeout=_ANSWER_S)
        if not ready:
            self._pending[namespace] = (ref, asked)
            return {name: _running(f"{name} not answering yet") for name in names}
        try:
            answers: list[RunnerStatus | None] = self._ray.get(ref)
        except self._ray.exceptions.RayActorError:  # the dispatcher is gone, and its records
            answers = [None] * len(asked)
        except self._ray.exceptions.RayError:  # it could not answer so: ask the old way
            self._one_by_one.add(namespace)
            return self._ask_each(dispatcher, names)
        said = dict(zip(asked, answers, strict=True))
        return {
            name: _running(f"{name} asked about next")
            if name not in said
            else said[name] or _gone(name)
            for name in names
        }

    def _ask_each(self, dispatcher: Any, names: list[str]) -> dict[str, RunnerStatus]:
        """As :meth:`_ask`, one call per runner (all in flight at once)."""
        refs = {name: dispatcher.status.remote(name) for name in names}
        ready, _ = self._ray.wait(list(refs.values()), num_returns=len(refs), timeout=_ANSWER_S)
        answered = {id(ref) for ref in ready}
        found: dict[str, RunnerStatus] = {}
        for name, ref in refs.items():
            if id(ref) not in answered:
                found[name] = _running(f"{name} not answering yet")
                continue
            try:
                status: RunnerStatus | None = self._ray.get(ref)
            except self._ray.exceptions.RayError:
                status = None
            found[name] = status or _gone(name)
        return found

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        dispatcher = self._dispatcher_of(handle["namespace"])
        if dispatcher is not None:
            try:
                text: str | None = self._ray.get(
                    dispatcher.logs.remote(handle["actor"], limit), timeout=_CALL_TIMEOUT_S
                )
            except self._ray.exceptions.RayError:
                text = None
            if text is not None:
                return text
        return f"[dockyard] {gone(handle['actor'])}\n"[-limit:] if limit > 0 else ""

    def stop(self, handle: Handle) -> None:
        dispatcher = self._dispatcher_of(handle["namespace"])
        if dispatcher is not None:
            dispatcher.stop.remote(handle["actor"])

    def capacity(self) -> Capacity:
        at, capacity = self._capacity
        now = time.monotonic()
        if now - at > _CAPACITY_TTL_S:
            total = self._ray.cluster_resources()
            capacity = {
                "cpus": float(total.get("CPU", 0.0)),
                "gpus": float(total.get("GPU", 0.0)),
                "node_gpus": self._largest("GPU"),
            }
            self._capacity = (now, capacity)
        return capacity
