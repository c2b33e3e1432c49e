"""The Ray executor's dispatcher: places each job with a placement group, runs it on its node.

One :class:`Dispatcher` (a detached actor with no CPU, on the head node, one per namespace)
takes each job the server submits: it reserves the job's CPUs and memory as a one-bundle,
detached placement group named after the runner, and once Ray has placed the bundle asks that
node's :class:`~dockyard.runtime.runner._rayhost.NodeHost` (started the first time a job lands
there, then kept) to start the runner. A placement group costs Ray a reservation, not a worker
process: eight jobs start in a fraction of the seconds eight new actors take.

When a runner ends, its group is kept for :data:`KEEP_GROUP_S` for the next job of the same
shape (bundle), then removed, giving the resources back. A new group is placed by Ray's GCS from
its own view of the nodes, which trails a removal by tens of milliseconds; a group it could not
place at once waits out a backoff of up to a second, though the room came moments later. A
stream of like jobs (a tuning job's trials) would pay that on many starts: each takes the group
its predecessor left, placed already, or one left while its own waits to be placed. A job
of another shape whose group Ray cannot place at once has the kept groups removed, as they
may hold its room.

When the node is lost, its host goes with it and Ray places the group's bundle on another node;
while the job's ``retry_strategy.max_attempts`` allows, the dispatcher starts a new runner there
that makes the job's next attempt (:data:`~dockyard.api.jobs.RUNNER_ATTEMPT`); otherwise it
records that the runner is gone. It keeps what ended runners left (exit code, output tail), so
the executor answers ``status`` and ``logs`` for them, and everything lives in the cluster: a
restarted server finds its runners again by name.

A job's GPUs are part of its bundle. Ray hands GPU ids to tasks, not to bundles, so once the
bundle is placed a task holding the bundle's GPUs asks Ray which devices they are, and the
runner gets them as ``CUDA_VISIBLE_DEVICES`` (an empty one when the job asks for none): the
devices Ray would give a GPU task there, logical GPUs included. That task costs a Ray worker
(reused by the next GPU job); jobs without GPUs skip it.

The class is plain: the executor makes it a Ray actor where Ray is imported.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from typing import Any

from dockyard.runtime.runner._rayhost import HOST_PREFIX, NodeHost

__all__ = ["DISPATCHER", "KEEP_GROUP_S", "Dispatcher", "gone"]

#: A bundle's shape: its resources, sorted.
Shape = tuple[tuple[str, float], ...]

#: The dispatcher actor's name in the executor's namespace.
DISPATCHER = "dockyard-dispatcher"
_KEEP = 10_000  # ended runners remembered
_PLACED_POLL_S = 0.5  # how often a group moved off a lost node is looked at again
_SPARE_POLL_S = 0.02  # how often a group waiting to be placed looks for one kept
#: How long an ended runner's placement group is kept for a job of the same shape.
KEEP_GROUP_S = 1.0
_CALL_TIMEOUT_S = 30.0


def gone(name: str) -> str:
    """Why runner ``name`` ended without an exit code."""
    return (
        f"the job's runner ({name}) is gone without a word: its node was lost "
        "(or its host was killed) and the job has no retry left"
    )


class Dispatcher:
    """Places and supervises the executor's runners (see the module docstring)."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._lock = threading.Lock()
        self._live: dict[str, dict[str, Any]] = {}  # by runner: state, node, pid, stopped
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._hosts: dict[str, Any] = {}  # by node: each lookup is a call to Ray's GCS
        # Groups of ended runners, kept for the next job of their shape: (serial, group, node).
        self._kept: dict[Shape, list[tuple[int, Any, str]]] = {}
        self._serials = itertools.count()

    # -- what the executor calls -----------------------------------------------------------

    def launch(
        self, name: str, env: dict[str, str], bundle: dict[str, float], attempts: int
    ) -> None:
        """Place runner ``name`` with ``bundle`` (Ray resources) and start it; returns at once."""
        with self._lock:
            if name in self._live or name in self._ended:
                return
            self._live[name] = {"state": "placing", "node": None, "pid": None, "stop": False}
        threading.Thread(
            target=self._supervise, args=(name, env, bundle, attempts), daemon=True
        ).start()

    def status(self, name: str) -> dict[str, Any] | None:
        """``running``, ``exit_code`` and ``detail`` of runner ``name``; None when unknown."""
        with self._lock:
            record = self._ended.get(name)
            if record is not None:
                return {
                    "running": False,
                    "exit_code": record["exit_code"],
                    "detail": record["detail"],
                }
            live = self._live.get(name)
        if live is None:
            return None
        if live["pid"] is None:
            detail = f"{name} waiting for a Ray node with its resources"
        else:
            detail = f"runner pid {live['pid']} on Ray node {str(live['node'])[:12]}"
        return {"running": True, "exit_code": None, "detail": detail}

    def runners(self) -> dict[str, dict[str, Any]]:
        """The runners placed or waiting to be: the node each runs on and its pid (None until
        it started). Placement groups are not named after their runners: an ended runner's
        group goes on to the next job of its shape."""
        with self._lock:
            return {
                name: {"node": live["node"], "pid": live["pid"]}
                for name, live in self._live.items()
            }

    def statuses(self, names: list[str]) -> list[dict[str, Any] | None]:
        """:meth:`status` of each of runners ``names``: one call for a pass over them all."""
        return [self.status(name) for name in names]

    def logs(self, name: str, limit: int) -> str | None:
        """The last ``limit`` characters runner ``name`` wrote; None when unknown."""
        with self._lock:
            record = self._ended.get(name)
            live = self._live.get(name)
        if record is not None:
            text = str(record["tail"])
            return text[-limit:] if limit > 0 else ""
        if live is None:
            return None
        if live["pid"] is None:
            return ""
        import ray

        try:
            found: str = ray.get(
                self._host(live["node"]).logs.remote(name, limit), timeout=_CALL_TIMEOUT_S
            )
        except ray.exceptions.RayError:
            return ""
        return found

    def stop(self, name: str) -> None:
        """Stop runner ``name``: SIGTERM to a running one, nothing left of an unplaced one."""
        with self._lock:
            live = self._live.get(name)
            if live is None:
                return
            live["stop"] = True
            node = live["node"] if live["pid"] is not None else None
        if node is not None:
            self._host(node).stop.remote(name)

    def warm(self) -> int:
        """Start the host of every live node now, not with its first job; returns how many."""
        import ray

        hosts = [self._host(n).ready.remote() for n in sorted(_alive())]
        try:
            ray.get(hosts, timeout=_CALL_TIMEOUT_S)
        except ray.exceptions.RayError:  # a node lost meanwhile: its jobs go elsewhere
            return 0
        return len(hosts)

    # -- supervision -----------------------------------------------------------------------

    def _host(self, node: str) -> Any:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        with self._lock:
            host = self._hosts.get(node)
        if host is not None:
            return host
        host = (
            ray.remote(NodeHost)
            .options(
                name=HOST_PREFIX + node,
                namespace=self._namespace,
                lifetime="detached",
                get_if_exists=True,
                num_cpus=0,
                max_concurrency=1000,  # one waiting call per runner of the node
                scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            )
            .remote()
        )
        with self._lock:
            self._hosts[node] = host
        return host

    def _supervise(
        self, name: str, env: dict[str, str], bundle: dict[str, float], attempts: int
    ) -> None:
        import ray

        shape: Shape = tuple(sorted(bundle.items()))
        group: Any = None
        node: str | None = None
        record: dict[str, Any] | None = None
        keep = False
        attempt = 1
        try:
            placed = self._reserve(name, bundle, shape)
            if placed is not None:
                group, node = placed
            while record is None:
                if attempt > 1:
                    node = self._placed(name, group)
                if node is None:  # stopped before it was placed
                    record = {"exit_code": None, "tail": "", "detail": f"{name} stopped unplaced"}
                    break
                host = self._host(node)
                try:
                    devices = _devices(group, bundle.get("GPU", 0))
                except ray.exceptions.RayError as exc:
                    said = f"Ray did not say which GPUs it gave the job: {exc}"
                    record = {"exit_code": None, "tail": f"[dockyard] {said}\n", "detail": said}
                    break
                env = {**env, "CUDA_VISIBLE_DEVICES": devices}
                try:
                    try:
                        # No timeout: a runner started late would otherwise run twice.
                        pid = ray.get(host.start.remote(name, env, attempt))
                    except ray.exceptions.ActorUnavailableError:
                        if not _answers(host):
                            raise
                        pid = None  # whether it started, its host's wait tells
                    with self._lock:
                        self._live[name].update(node=node, pid=pid)
                        stop = self._live[name]["stop"]
                    if stop:
                        host.stop.remote(name)
                    record = _ended(host, name)
                    keep = True  # its node still answers: the group is good for the next job
                except ray.exceptions.RayActorError:
                    # The host is gone, as Ray's cluster state says: its node was lost (and is
                    # no longer listed alive, so the next placement is elsewhere) or it was
                    # killed, and its runner with it.
                    with self._lock:
                        self._live[name].update(node=None, pid=None)
                        stopped = self._live[name]["stop"]
                        self._hosts.pop(node, None)
                    if attempt >= attempts or stopped:
                        record = {"exit_code": None, "tail": f"[dockyard] {gone(name)}\n"}
                        record["detail"] = gone(name)
                    attempt += 1
        finally:
            if group is not None:
                self._release(group, node, shape, keep=keep and node is not None)
            with self._lock:
                self._live.pop(name, None)
                self._ended[name] = record or {"exit_code": None, "tail": "", "detail": gone(name)}
                while len(self._ended) > _KEEP:
                    self._ended.popitem(last=False)

    # -- placement groups ------------------------------------------------------------------

    def _reserve(self, name: str, bundle: dict[str, float], shape: Shape) -> tuple[Any, str] | None:
        """A placed group for runner ``name`` and its node: one kept of ``shape``, or a new one
        (given up for one kept meanwhile, while Ray has not placed it); None when the runner
        was stopped before that."""
        import ray
        from ray.util.placement_group import (
            placement_group,
            placement_group_table,
            remove_placement_group,
        )

        group: Any = None
        ready: Any = None
        try:
            while True:
                with self._lock:
                    stopped = self._live[name]["stop"]
                kept = None if stopped else self._take(shape)
                if stopped or kept is not None:
                    return kept
                if group is None:
                    group = placement_group([bundle], name=name, lifetime="detached")
                    ready = group.ready()
                done, _ = ray.wait([ready], timeout=_SPARE_POLL_S)
                if done:
                    table = placement_group_table(group)
                    node = table["bundles_to_node_id"].get(0)
                    if table["state"] == "CREATED" and node:
                        placed, group = (group, str(node)), None
                        return placed
                    time.sleep(_SPARE_POLL_S)  # placed on a node just lost: Ray moves it
                # Not placed at once: groups kept for other shapes may hold its room.
                self._give_back_kept(but=shape)
        finally:
            if group is not None:
                remove_placement_group(group)

    def _take(self, shape: Shape) -> tuple[Any, str] | None:
        """A kept group of ``shape`` on a live node, and its node; None when none is kept."""
        from ray.util.placement_group import remove_placement_group

        while True:
            with self._lock:
                kept = self._kept.get(shape)
                if not kept:
                    return None
                _, group, node = kept.pop()
            if node in _alive():
                return group, node
            remove_placement_group(group)  # Ray would move it; a new one is placed as soon

    def _release(self, group: Any, node: str | None, shape: Shape, *, keep: bool) -> None:
        """Keep ``group`` for the next runner of ``shape`` (``keep``), else remove it."""
        from ray.util.placement_group import remove_placement_group

        if not keep or node is None:
            remove_placement_group(group)
            return
        with self._lock:
            serial = next(self._serials)
            self._kept.setdefault(shape, []).append((serial, group, node))
        timer = threading.Timer(KEEP_GROUP_S, self._expire, (shape, serial))
        timer.daemon = True
        timer.start()

    def _give_back_kept(self, *, but: Shape) -> None:
        """Remove the groups kept for shapes other than ``but``: a job of another shape waits
        for room they may hold."""
        from ray.util.placement_group import remove_placement_group

        with self._lock:
            others = [s for s in self._kept if s != but and self._kept[s]]
            found = [entry for s in others for entry in self._kept[s]]
            for s in others:
                self._kept[s] = []
        for _, group, _ in found:
            remove_placement_group(group)

    def _expire(self, shape: Shape, serial: int) -> None:
        """Remove the group kept as ``serial`` unless a runner took it."""
        from ray.util.placement_group import remove_placement_group

        with self._lock:
            kept = self._kept.get(shape, [])
            found = [entry for entry in kept if entry[0] == serial]
            for entry in found:
                kept.remove(entry)
        for _, group, _ in found:
            remove_placement_group(group)

    def _placed(self, name: str, group: Any) -> str | None:
        """The live node Ray moved ``group``'s bundle to off a lost one; None when runner
        ``name`` was stopped before that."""
        import ray
        from ray.util.placement_group import placement_group_table

        ready = group.ready()
        while True:
            with self._lock:
                if self._live[name]["stop"]:
                    return None
            done, _ = ray.wait([ready], timeout=_PLACED_POLL_S)
            if done:
                table = placement_group_table(group)
                node = table["bundles_to_node_id"].get(0)
                if table["state"] == "CREATED" and node and node in _alive():
                    return str(node)
                time.sleep(_PLACED_POLL_S)  # still on the lost node: Ray moves it shortly


def _devices(group: Any, gpus: float) -> str:
    """The ids of the GPUs Ray gave ``group``'s bundle, as ``CUDA_VISIBLE_DEVICES`` ("" for
    none)."""
    if not gpus:
        return ""
    import ray
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    probe = ray.remote(_visible_devices).options(
        num_cpus=0,
        num_gpus=gpus,
        scheduling_strategy=PlacementGroupSchedulingStrategy(group, 0),
    )
    devices: str = ray.get(probe.remote(), timeout=_CALL_TIMEOUT_S)
    return devices


def _visible_devices() -> str:
    """In a Ray task holding GPUs: the devices Ray made visible to it."""
    import os

    import ray

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible if visible is not None else ",".join(str(i) for i in ray.get_gpu_ids())


def _ended(host: Any, name: str) -> dict[str, Any]:
    """What runner ``name`` ended with, as its host reports it.

    Raises:
        RayActorError: The host is gone (see :func:`_answers`).
    """
    import ray

    while True:
        try:
            record: dict[str, Any] = ray.get(host.wait.remote(name))
        except ray.exceptions.ActorUnavailableError:
            if not _answers(host):
                raise
            continue  # the host still runs, and so does its runner
        return record


def _answers(host: Any) -> bool:
    """Whether ``host`` still runs, once Ray knows.

    A call Ray could not deliver fails with ``ActorUnavailableError`` as soon as the host's
    connection drops, often before the cluster has declared its node lost: the node is then
    still listed alive and still holds the job's placement group, and a new runner would be
    started there, on a host about to go, spending the job's next attempt. A call of a host
    that is gone for good fails with ``ActorDiedError``, which Ray gives only once it has
    declared the host dead (after its node, when the node was lost); each call it cannot
    deliver meanwhile fails after Ray's own wait for that news, so this does not spin.
    """
    import ray

    while True:
        try:
            ray.get(host.ready.remote())
        except ray.exceptions.ActorUnavailableError:
            continue
        except ray.exceptions.RayActorError:
            return False
        return True


def _alive() -> set[str]:
    """The ids of the cluster's live nodes."""
    import ray

    listing: Any = ray.nodes  # untyped in Ray
    return {str(n["NodeID"]) for n in listing() if n["Alive"]}
