"""A real Ray cluster of three nodes on this machine, started once per session.

Request the ``ray_cluster`` fixture. A head and two worker nodes (``ray.cluster_utils.Cluster``:
separate raylets, object stores and worker pools, all on 127.0.0.1; ``ray start`` cannot add a
second node on one machine here). The head offers no CPU, so jobs run on the workers, each with
one CPU and a ``worker`` resource, and a test may remove a job's node without losing the
cluster. Nodes notice a lost node within about two seconds (Ray's default is ~15 s). The test
process joins as a driver; both end with the session, leaving no Ray process behind, or as soon
as the worker that ran the Ray group (:mod:`tests.services.worker_groups`) has run its last test:
an idle cluster keeps ~4% of a core busy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["RayCluster", "ray_cluster", "stop_ray_cluster"]

_ENV = {
    # Otherwise Ray binds to the machine's external address; traffic must stay on loopback.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}
_SYSTEM_CONFIG = {
    # Lost nodes noticed within about two seconds.
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 4,
    # Ray lowers its workers' priority to nice 15 (its own processes keep 0). Beside the suite's
    # other workers, each busy at nice 0, that left a job's tasks a few percent of a core: a
    # transform of 400 rows scored nothing in a minute. Here they compete as equals.
    "worker_niceness": 0,
}


class RayCluster:
    """The session's cluster: its address, and adding or removing worker nodes."""

    def __init__(self, cluster: Any) -> None:
        self._cluster = cluster
        self._address: str = cluster.address
        self.stopped = False

    @property
    def address(self) -> str:
        """The head's address (a test in no Ray group that asks for it fails here)."""
        if self.stopped:
            pytest.fail(
                "the Ray cluster was stopped once the Ray group had run: a module that uses it "
                "says so with pytest.mark.ray_cluster (tests/services/worker_groups.py)"
            )
        return self._address

    def stop(self) -> None:
        """Disconnect this process and stop every node (once; later calls do nothing)."""
        if self.stopped:
            return
        self.stopped = True
        import ray

        ray.shutdown()
        self._cluster.shutdown()
        os.environ.pop("RAY_ADDRESS", None)

    def add_worker(self, gpus: int = 0) -> Any:
        """Start one more worker node (1 CPU, and ``gpus`` logical GPUs: Ray counts them
        without a device behind them) and wait until it has joined."""
        node = self._cluster.add_node(num_cpus=1, num_gpus=gpus, resources={"worker": 1})
        self._cluster.wait_for_nodes()
        return node

    def workers(self) -> list[Any]:
        """The worker nodes still running."""
        return list(self._cluster.worker_nodes)

    def remove(self, node: Any) -> None:
        """Kill a node outright, as a lost machine."""
        self._cluster.remove_node(node, allow_graceful=False)

    def environment(self) -> dict[str, str]:
        """Variables a server process joining this cluster needs."""
        return {**_ENV, "DOCKYARD_RAY_ADDRESS": self.address}


_started: list[RayCluster] = []


def stop_ray_cluster() -> None:
    """Stop the session's cluster now, if it was started; a test asking for its address later
    fails, saying why."""
    for cluster in _started:
        cluster.stop()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Start the cluster for the session; skip when Ray cannot be imported."""
    with pytest.MonkeyPatch.context() as env:
        # Set before Ray is imported: it reads some of them once, at import.
        for key, value in _ENV.items():
            env.setenv(key, value)
        try:
            import ray
            from ray.cluster_utils import Cluster
        except ImportError as exc:
            pytest.skip(f"Ray is not installed (pip install 'dockyard[ray]'): {exc}")
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 0,
                "include_dashboard": False,
                "_system_config": _SYSTEM_CONFIG,
            },
        )
        found = RayCluster(cluster)
        _started.append(found)
        try:
            found.add_worker()
            found.add_worker()
            ray.init(address=cluster.address, namespace="dockyard", log_to_driver=False)
            yield found
        finally:
            found.stop()
