"""Datasets on S3 (SeaweedFS), read through the artifact store like local ones."""

from __future__ import annotations

import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.errors import NotFound
from dockyard.monitor import Dataset
from dockyard.monitor.readers import batches
from tests.services.s3 import S3Server

pytestmark = pytest.mark.s3


def test_an_s3_prefix_is_read_in_key_order_csv_and_parquet(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("monitor")
    prefix = f"data/{uuid.uuid4().hex}"
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key=f"{prefix}/b.csv", Body=b"x,c\n3,z\n")
    client.put_object(Bucket=bucket, Key=f"{prefix}/a.csv", Body=b"x,c\n1,y\n2,y\n")
    client.put_object(Bucket=bucket, Key=f"{prefix}/_SUCCESS", Body=b"")
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": [4], "c": ["w"]}), buffer)
    client.put_object(Bucket=bucket, Key=f"{prefix}/c.parquet", Body=buffer.getvalue())
    data = Dataset(
        (f"s3://{bucket}/{prefix}",), format="auto", s3_endpoint_url=s3_server.endpoint_url
    )
    rows = [row for batch in batches(data) for row in batch.to_pylist()]
    assert rows == [
        {"x": 1, "c": "y"},
        {"x": 2, "c": "y"},
        {"x": 3, "c": "z"},
        {"x": 4, "c": "w"},
    ]
    one = Dataset((f"s3://{bucket}/{prefix}/b.csv",), s3_endpoint_url=s3_server.endpoint_url)
    assert [r for b in batches(one) for r in b.to_pylist()] == [{"x": 3, "c": "z"}]
    empty = Dataset((f"s3://{bucket}/nothing-here",), s3_endpoint_url=s3_server.endpoint_url)
    with pytest.raises(NotFound, match="nothing under this prefix"):
        list(batches(empty))
