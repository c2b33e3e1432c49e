from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.runtime.serving.conftest import config, rows, split_body, variant
from tests.services.s3 import S3Server

from dockyard.api.serving.config import CaptureConfig
from dockyard.runtime.serving._capture import CaptureWriter, Exchange
from dockyard.runtime.serving._metrics import Metrics


def exchange(variant: str, when: float, status: int = 200, **changes: Any) -> Exchange:
    fields: dict[str, Any] = {
        "request_id": b"r-1",
        "time": when,
        "variant": variant,
        "kind": "production",
        "status": status,
        "latency_ms": 1.23456,
        "input_type": b"application/json",
        "input": b'{"instances": [[1, 2]]}',
        "output_type": b"application/json",
        "output": b'{"predictions": [3]}',
        **changes,
    }
    return Exchange(**fields)


def read_records(root: Path) -> dict[str, list[dict[str, Any]]]:
    files = sorted(root.rglob("*.jsonl"))
    return {
        str(f.relative_to(root)): [orjson.loads(line) for line in f.read_bytes().splitlines()]
        for f in files
    }


def test_records_are_partitioned_by_variant_and_hour_and_flushed_on_close(tmp_path: Path) -> None:
    metrics = Metrics("churn")
    writer = CaptureWriter(
        CaptureConfig(enabled=True, destination=str(tmp_path), flush_interval_s=60),
        "churn",
        metrics,
    )
    nine = time.mktime((2026, 11, 5, 9, 30, 0, 0, 0, 0)) - time.timezone
    writer.put(exchange("blue", nine))
    writer.put(exchange("blue", nine + 3600, input_type=b"text/csv", input=b"1,2\n"))
    writer.put(exchange("green", nine, status=400, output=b'{"code": "invalid_argument"}'))
    writer.put(exchange("blue", nine, input_type=b"application/octet-stream", input=b"\x00\xff"))
    writer.close()  # the 60 s interval never elapsed: only close wrote these
    files = read_records(tmp_path)
    assert [key.rsplit("/", 1)[0] for key in files] == [
        "churn/blue/2026/11/05/09",
        "churn/blue/2026/11/05/10",
        "churn/green/2026/11/05/09",
    ]
    blue9, blue10, green9 = files.values()
    first = blue9[0]
    assert first["time"] == "2026-11-05T09:30:00.000000Z"
    assert first["input"] == {
        "content_type": "application/json",
        "encoding": "json",
        "data": {"instances": [[1, 2]]},
    }
    assert first["output"]["data"] == {"predictions": [3]}
    assert (first["request_id"], first["variant"], first["kind"], first["status"]) == (
        "r-1",
        "blue",
        "production",
        200,
    )
    assert first["latency_ms"] == 1.235
    assert blue9[1]["input"] == {
        "content_type": "application/octet-stream",
        "encoding": "base64",
        "data": "AP8=",
    }
    assert blue10[0]["input"] == {"content_type": "text/csv", "encoding": "text", "data": "1,2\n"}
    assert green9[0]["status"] == 400
    assert metrics.capture_records == 4 and metrics.capture_dropped == 0


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    metrics = Metrics("churn")
    cfg = CaptureConfig(
        enabled=True, destination=str(tmp_path), flush_interval_s=60, max_queue_bytes=2048
    )
    writer = CaptureWriter(cfg, "churn", metrics)
    started = time.perf_counter()
    for _ in range(100):
        writer.put(exchange("blue", time.time(), input=b"x" * 500))
    assert time.perf_counter() - started < 0.5
    writer.close()
    written = sum(len(records) for records in read_records(tmp_path).values())
    assert metrics.capture_dropped > 0
    assert written == metrics.capture_records == 100 - metrics.capture_dropped


def test_write_failures_are_counted_not_raised_into_requests(tmp_path: Path) -> None:
    metrics = Metrics("churn")
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    writer = CaptureWriter(
        CaptureConfig(enabled=True, destination=str(blocked), flush_interval_s=60), "churn", metrics
    )
    writer.put(exchange("blue", time.time()))
    writer.close()
    assert metrics.capture_write_errors == 1


def test_worker_captures_sampled_traffic_and_shadow_answers(
    serve: Any, packages: dict[str, Path], short_dir: Path, tmp_path: Path
) -> None:
    cfg = config(
        short_dir,
        [
            variant("prod", packages["xgboost"]),
            variant("shadow", packages["times10"], shadow=True, shadow_sampling_pct=100),
        ],
        capture={
            "enabled": True,
            "destination": str(tmp_path),
            "sampling_pct": 0,
            "flush_interval_s": 0.2,
        },
    )
    sent = []
    with serve(cfg) as w:
        for _ in range(5):
            response = w.client.post("/invocations", json=split_body(rows(1)))
            assert response.status_code == 200
            assert response.headers["x-dockyard-variant"] == "prod"
            sent.append((response.headers["x-request-id"], response.json()))
        # The shadow model has a column 'x' this body lacks: its 400 is captured, not returned.
        w.client.post(
            "/invocations", json={"instances": [{"x": 2.0, "a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}]}
        )
    records = [r for batch in read_records(tmp_path).values() for r in batch]
    production = {r["request_id"]: r for r in records if r["kind"] == "production"}
    shadow = {r["request_id"]: r for r in records if r["kind"] == "shadow"}
    assert (
        len(production) == len(shadow) == 6
    )  # sampling 0 %, but shadowed requests are always captured
    for request_id, answer in sent:
        assert production[request_id]["output"]["data"] == answer
        assert shadow[request_id]["variant"] == "shadow"
        assert shadow[request_id]["status"] == 400
        assert "missing column 'x'" in shadow[request_id]["output"]["data"]["message"]
    last = next(r for r in shadow.values() if r["status"] == 200)
    assert last["output"]["data"] == {"predictions": [20.0]}
    assert {Path(k).parts[1] for k in read_records(tmp_path)} == {"prod", "shadow"}


@pytest.mark.s3
def test_records_reach_an_s3_destination(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("capture")
    cfg = CaptureConfig(
        enabled=True,
        destination=f"s3://{bucket}/captured",
        s3_endpoint_url=s3_server.endpoint_url,
        flush_interval_s=60,
    )
    metrics = Metrics("churn")
    writer = CaptureWriter(cfg, "churn", metrics)
    writer.put(exchange("blue", time.mktime((2026, 1, 2, 3, 0, 0, 0, 0, 0)) - time.timezone))
    writer.close()
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert len(listed) == 1
    key = listed[0]["Key"]
    assert key.startswith("captured/churn/blue/2026/01/02/03/") and key.endswith(".jsonl")
    body = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert orjson.loads(body)["variant"] == "blue"
    assert metrics.capture_write_errors == 0
