"""Shards of an S3-to-S3 transform scored as Ray tasks over the session's three-node cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.runtime.batch.conftest import expected_linear, features, write_csv
from tests.services.ray_cluster import RayCluster
from tests.services.s3 import S3Server

from dockyard.api.batch import TransformSpec
from dockyard.runtime.batch import RayShards, TransformResult

Run = Callable[..., TransformResult]

pytestmark = [pytest.mark.s3, pytest.mark.slow, pytest.mark.ray_cluster]


def _inputs(s3: S3Server, bucket: str, root: Path, files: int, rows: int) -> list[np.ndarray]:
    made = []
    for index in range(files):
        data = features(rows, seed=index)
        path = root / f"part-{index}.csv"
        write_csv(path, data, ids=True)
        s3.client().upload_file(str(path), bucket, f"in/{path.name}")
        made.append(data)
    return made


def _spec(bucket: str, model: Path, output: str, shown: str | None = None) -> TransformSpec:
    return TransformSpec(
        model_uri=str(model),
        input={"uri": f"s3://{bucket}/in", "display_uri": shown},
        output={"uri": output, "assemble_with": "Line"},
        data_processing={"input_filter": "$[1:]", "join_source": "Input"},
        shard_bytes=4_000,
    )


def _read(s3: S3Server, bucket: str, key: str) -> bytes:
    body: bytes = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_shards_spread_over_nodes_and_match_the_local_transform(
    ray_cluster: RayCluster,
    s3_server: S3Server,
    packages: dict[str, Path],
    tmp_path: Path,
    transform: Run,
) -> None:
    bucket = s3_server.create_bucket("spread")
    _inputs(s3_server, bucket, tmp_path / "in", files=3, rows=300)
    cluster = RayShards(ray_cluster.address)
    # Uploaded by a client from its ./in: messages name that, the nodes fetch the store's copy.
    spec = _spec(bucket, packages["linear"], f"s3://{bucket}/out", shown="./in")
    spread = transform(spec, s3_endpoint_url=s3_server.endpoint_url, cluster=cluster)
    local_spec = _spec(bucket, packages["linear"], str(tmp_path / "local"))
    local = transform(local_spec, s3_endpoint_url=s3_server.endpoint_url, work=tmp_path / "w2")

    assert spread.shards_total > 2
    assert len(cluster.nodes) == spread.shards_total  # every shard ran as a task
    assert len(set(cluster.nodes.values())) == 2  # on both worker nodes
    assert (spread.records, spread.bad_records) == (local.records, 0)
    for index in range(3):
        name = f"part-{index}.csv.out"
        assert _read(s3_server, bucket, f"out/{name}") == (tmp_path / "local" / name).read_bytes()
    assert not _keys(s3_server, bucket, "out/_parts/")  # fetched parts are not left behind


def test_a_node_lost_mid_transform_its_shards_run_again_elsewhere(
    ray_cluster: RayCluster,
    s3_server: S3Server,
    packages: dict[str, Path],
    tmp_path: Path,
    transform: Run,
) -> None:
    bucket = s3_server.create_bucket("lost")
    made = _inputs(s3_server, bucket, tmp_path / "in", files=2, rows=300)
    cluster = RayShards(ray_cluster.address)
    lost: list[str] = []
    done_before: list[int] = []

    def lose_a_node() -> bool:
        # Polled before each dispatch round: once one node has finished a shard, the other is
        # scoring one (each takes a slow predict call).
        if not lost and cluster.nodes:
            done = next(iter(cluster.nodes.values()))
            node = next(n for n in ray_cluster.workers() if n.node_id != done)
            lost.append(node.node_id)
            done_before.append(len(cluster.nodes))
            ray_cluster.remove(node)
        return False

    spec = _spec(bucket, packages["slow"], f"s3://{bucket}/out")
    try:
        result = transform(
            spec, s3_endpoint_url=s3_server.endpoint_url, cluster=cluster, should_stop=lose_a_node
        )
    finally:
        ray_cluster.add_worker()  # back to two workers for what follows
    assert result.status == "Completed"
    assert lost and done_before[0] < result.shards_total - 2  # lost with shards still to do
    assert len(cluster.nodes) == result.shards_total
    for index, rows in enumerate(made):
        lines = _read(s3_server, bucket, f"out/part-{index}.csv.out").decode().splitlines()
        assert [int(line.split(",")[0]) for line in lines] == list(range(len(rows)))
        np.testing.assert_allclose(
            [float(line.split(",")[-1]) for line in lines], expected_linear(rows, bias=0.0)
        )


def _part_waits(s3: S3Server, bucket: str, cluster: RayShards) -> bool:
    """Whether a shard's part waits in the store for the runner to fetch it, or the runner has
    fetched one. Polled by the runner between dispatch rounds: it consumes no result while this
    waits a little for a part, but one can land and be fetched between two polls, and a file
    whose every part went so would be published. The runner handles one result per round, so
    stopping at the first fetched part leaves every file (several shards each) unpublished."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if cluster.nodes or _keys(s3, bucket, "out/_parts/"):
            return True
    return False


def test_a_stopped_transform_leaves_no_part_in_the_store(
    ray_cluster: RayCluster,
    s3_server: S3Server,
    packages: dict[str, Path],
    tmp_path: Path,
    transform: Run,
) -> None:
    bucket = s3_server.create_bucket("stopped")
    _inputs(s3_server, bucket, tmp_path / "in", files=2, rows=300)
    cluster = RayShards(ray_cluster.address)
    spec = _spec(bucket, packages["slow"], f"s3://{bucket}/out")
    result = transform(
        spec,
        s3_endpoint_url=s3_server.endpoint_url,
        cluster=cluster,
        should_stop=lambda: _part_waits(s3_server, bucket, cluster),
    )
    assert result.status == "Stopped"
    assert len(cluster.nodes) < result.shards_total
    assert not _keys(s3_server, bucket, "out/")  # nothing published, no part left behind
