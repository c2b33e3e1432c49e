"""The session's Ray cluster, once stopped early, says why to a test that still asks for it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.services.ray_cluster import RayCluster


def test_a_stopped_cluster_names_the_marker_a_late_test_lacks() -> None:
    stopped: list[bool] = []
    cluster = RayCluster(
        SimpleNamespace(address="127.0.0.1:1", shutdown=lambda: stopped.append(True))
    )
    assert cluster.address == "127.0.0.1:1"
    cluster.stop()
    cluster.stop()
    assert stopped == [True]  # once
    with pytest.raises(pytest.fail.Exception, match=r"pytest\.mark\.ray_cluster"):
        _ = cluster.address
