"""Inputs, outputs and the model package on a real S3-compatible server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.runtime.batch.conftest import expected_linear, features, write_csv
from tests.services.s3 import S3Server

from dockyard.api.batch import TransformSpec
from dockyard.errors import NotFound
from dockyard.runtime.batch import TransformResult

Run = Callable[..., TransformResult]

pytestmark = pytest.mark.s3


def _upload(server: S3Server, bucket: str, root: Path, prefix: str) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(root).as_posix()}"
            server.client().put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def test_s3_inputs_model_and_outputs(
    s3_server: S3Server, packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    bucket = s3_server.create_bucket("batch")
    first, second = features(300, seed=1), features(40, seed=2)
    write_csv(tmp_path / "in" / "a.csv", first, ids=True)
    write_csv(tmp_path / "in" / "sub" / "b.csv", second, ids=True)
    _upload(s3_server, bucket, tmp_path / "in", "data/test")
    _upload(s3_server, bucket, packages["linear"], "models/linear")
    spec = TransformSpec(
        model_uri=f"s3://{bucket}/models/linear",
        input={"uri": f"s3://{bucket}/data/test"},
        output={"uri": f"s3://{bucket}/predictions"},
        data_processing={
            "input_filter": "$[1:]",
            "join_source": "Input",
            "output_filter": "$[0,-1]",
        },
        shard_bytes=2_000,
        max_concurrent_transforms=2,
    )
    result = transform(spec, s3_endpoint_url=s3_server.endpoint_url)
    client = s3_server.client()

    def read(key: str) -> bytes:
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    for name, rows in (("a.csv", first), ("sub/b.csv", second)):
        lines = read(f"predictions/{name}.out").decode().splitlines()
        assert [int(line.split(",")[0]) for line in lines] == list(range(len(rows)))
        np.testing.assert_allclose(
            [float(line.split(",")[1]) for line in lines], expected_linear(rows), rtol=1e-12
        )
    manifest = json.loads(read("predictions/_manifest.json"))
    assert [f["input"] for f in manifest["files"]] == [
        f"s3://{bucket}/data/test/a.csv",
        f"s3://{bucket}/data/test/sub/b.csv",
    ]
    for entry in manifest["files"]:
        key = entry["output"].removeprefix(f"s3://{bucket}/")
        assert hashlib.sha256(read(key)).hexdigest() == entry["sha256"]
    assert result.manifest_uri == f"s3://{bucket}/predictions/_manifest.json"
    assert result.records == 340
    assert not list((tmp_path / "work" / "staged").iterdir())  # staged copies are removed


def test_missing_s3_input_is_named(
    s3_server: S3Server, packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    bucket = s3_server.create_bucket("batch")
    spec = TransformSpec(
        model_uri=str(packages["linear"]),
        input={"uri": f"s3://{bucket}/nothing/here"},
        output={"uri": f"s3://{bucket}/out"},
    )
    with pytest.raises(NotFound, match=f"input s3://{bucket}/nothing/here does not exist"):
        transform(spec, s3_endpoint_url=s3_server.endpoint_url)
