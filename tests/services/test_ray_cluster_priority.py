"""The session's Ray cluster runs its workers at the suite's own priority.

Ray starts its workers at nice 15; beside the suite's other workers, busy at nice 0, a job on
the cluster then got a few percent of a core and its tests ran out of time
(:mod:`tests.services.ray_cluster` sets ``worker_niceness`` to 0).
"""

from __future__ import annotations

import os

import pytest

from tests.services.ray_cluster import RayCluster

pytestmark = pytest.mark.ray_cluster


def test_the_clusters_workers_run_at_the_suites_priority(ray_cluster: RayCluster) -> None:
    import ray

    @ray.remote(num_cpus=1, resources={"worker": 1})
    def niceness() -> int:
        return os.nice(0)

    assert ray.get(niceness.remote(), timeout=120) == os.nice(0)
