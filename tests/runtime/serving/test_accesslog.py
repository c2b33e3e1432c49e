from __future__ import annotations

import io

import orjson

from dockyard.runtime.serving._accesslog import AccessLog
from dockyard.runtime.serving._metrics import Metrics


def test_successes_are_sampled_and_errors_always_logged() -> None:
    stream = io.StringIO()
    log = AccessLog("churn", Metrics("churn"), sampling_pct=0, stream=stream, interval_s=60)
    log.record(b"ok-1", "blue", "POST", "/invocations", 200, 0.0012)
    log.record(b"bad-1", "blue", "POST", "/invocations", 400, 0.0005)
    log.record(b"err-1", "", "GET", "/nope", 404, 0.0)
    log.close()  # the 60 s interval never elapsed: close wrote the lines
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["bad-1", "err-1"]
    assert lines[0] | {"ts": None} == {
        "ts": None,
        "request_id": "bad-1",
        "endpoint": "churn",
        "variant": "blue",
        "method": "POST",
        "path": "/invocations",
        "status": 400,
        "latency_ms": 0.5,
    }
    assert lines[1]["variant"] is None
    assert lines[0]["ts"].endswith("Z")


def test_a_writer_that_falls_behind_drops_and_counts() -> None:
    metrics = Metrics("churn")
    log = AccessLog("churn", metrics, stream=io.StringIO(), interval_s=60)
    for i in range(100_100):
        log.record(b"r-%d" % i, "blue", "POST", "/invocations", 200, 0.001)
    log.close()
    assert metrics.access_log_dropped == 100
