from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockyard.runtime.serving._metrics import LATENCY_BUCKETS, Histogram, Metrics


def test_histogram_quantiles_interpolate_within_buckets() -> None:
    hist = Histogram((1.0, 2.0, 4.0))
    assert hist.quantile(0.5) is None
    for value in (0.5, 1.5, 1.5, 3.0):
        hist.observe(value)
    assert hist.counts == [1, 2, 1, 0]
    assert hist.quantile(0.5) == 1.5  # rank 2 of 4 is halfway through the (1, 2] bucket
    assert hist.quantile(1.0) == 4.0
    assert list(hist.cumulative()) == [("1", 1), ("2", 3), ("4", 4), ("+Inf", 4)]


def test_prometheus_text_parses_and_carries_endpoint_and_variant() -> None:
    metrics = Metrics("churn")
    blue = metrics.variant("blue")
    blue.record(200, 0.002, None)
    blue.record(500, 0.010, "model_error")
    blue.record_batch(rows=8, requests=3, seconds=0.001)
    blue.in_flight = 2
    metrics.unrouted.record(404, 0.0, "not_found")
    metrics.capture_dropped = 5
    families = {
        f.name: f for f in text_string_to_metric_families(metrics.render({"config_version": "3"}))
    }

    requests = {
        (s.labels["variant"], s.labels["status"]): s.value
        for s in families["dockyard_endpoint_requests"].samples
    }
    assert requests == {("blue", "200"): 1, ("blue", "500"): 1, ("", "404"): 1}
    errors = families["dockyard_endpoint_errors"].samples
    assert {(s.labels["variant"], s.labels["code"]) for s in errors} == {
        ("blue", "model_error"),
        ("", "not_found"),
    }
    latency = families["dockyard_endpoint_request_duration_seconds"]
    assert latency.type == "histogram"
    count = [s for s in latency.samples if s.name.endswith("_count")]
    assert count[0].value == 2 and count[0].labels == {"endpoint": "churn", "variant": "blue"}
    buckets = [s for s in latency.samples if s.name.endswith("_bucket")]
    assert len(buckets) == len(LATENCY_BUCKETS) + 1
    rows = families["dockyard_endpoint_batch_rows"].samples
    assert [s.value for s in rows if s.name.endswith("_sum")] == [8]
    assert families["dockyard_endpoint_in_flight"].samples[0].value == 2
    assert families["dockyard_endpoint_capture_dropped"].samples[0].value == 5
    assert families["dockyard_worker_info"].samples[0].labels["config_version"] == "3"


def test_snapshot_reports_error_rate_from_server_errors_only() -> None:
    metrics = Metrics("churn")
    stats = metrics.variant("blue")
    for status in (200, 200, 400, 500):
        stats.record(status, 0.001, None if status == 200 else "x")
    snapshot = metrics.snapshot()["variants"]["blue"]
    assert snapshot["requests"] == 4
    assert snapshot["by_status"] == {"200": 2, "400": 1, "500": 1}
    assert snapshot["error_rate"] == 0.25
    assert snapshot["failed"] == 1


def test_inputs_the_model_rejected_count_as_failures() -> None:
    # A model raising on its input answers 400, yet a canary that does is failing.
    stats = Metrics("churn").variant("blue")
    stats.record(200, 0.001, None)
    stats.record(400, 0.001, "invalid_argument")
    stats.record(400, 0.001, "input_rejected")
    snapshot = stats.to_dict()
    assert snapshot["failed"] == 1
    assert snapshot["error_rate"] == pytest.approx(1 / 3)
