"""Per-variant counters and histograms, read as JSON (``/stats``) or Prometheus text (``/metrics``).

They are plain integers and lists touched only by the event loop thread: recording a request
costs a few list and dict updates, no lock and no label lookup, where a Prometheus client
library's labelled histogram costs several microseconds a call. Statistics live per variant
*name*, so counters stay monotonic across configuration swaps that keep the name; a name no
configuration serves any more is forgotten once its last requests are answered (a name used
again later starts from zero, which Prometheus reads as a counter reset).
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from dockyard.errors import InputRejected

__all__ = ["BATCH_BUCKETS", "LATENCY_BUCKETS", "Histogram", "Metrics", "VariantStats"]

#: Seconds. Fine at the low end, where a healthy endpoint answers.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
#: Rows (or requests) per predict call.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)


class Histogram:
    """Counts per upper bound (``le``), plus the sum and count, as Prometheus defines them."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last slot is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Record one value."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """An estimate of the ``q`` quantile (linear within its bucket), ``None`` when empty."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        lower = 0.0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            if n and seen + n >= rank:
                if bound == float("inf"):
                    return lower
                return lower + (bound - lower) * (rank - seen) / n
            seen += n
            lower = bound
        return lower

    def cumulative(self) -> Iterator[tuple[str, int]]:
        """``(le, cumulative count)`` pairs, ``+Inf`` last."""
        total = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            total += n
            yield _number(bound), total
        yield "+Inf", self.count

    def to_dict(self) -> dict[str, Any]:
        """JSON form: bounds, per-bucket counts, sum, count, p50/p99 estimates."""
        return {
            "bounds": list(self.bounds),
            "counts": list(self.counts),
            "sum": self.sum,
            "count": self.count,
            "p50": self.quantile(0.5),
            "p99": self.quantile(0.99),
        }


class VariantStats:
    """What one variant did: requests by status, errors by code, latency, batches, in-flight."""

    __slots__ = (
        "batch_requests",
        "batch_rows",
        "errors",
        "in_flight",
        "latency",
        "predict",
        "requests",
    )

    def __init__(self) -> None:
        self.requests: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.latency = Histogram(LATENCY_BUCKETS)
        self.predict = Histogram(LATENCY_BUCKETS)
        self.batch_rows = Histogram(BATCH_BUCKETS)
        self.batch_requests = Histogram(BATCH_BUCKETS)
        self.in_flight = 0

    def record(self, status: int, seconds: float, error_code: str | None) -> None:
        """Record one finished request."""
        requests = self.requests
        requests[status] = requests.get(status, 0) + 1
        if error_code is not None:
            self.errors[error_code] = self.errors.get(error_code, 0) + 1
        self.latency.observe(seconds)

    def record_batch(self, rows: int, requests: int, seconds: float) -> None:
        """Record one predict call."""
        self.batch_rows.observe(rows)
        self.batch_requests.observe(requests)
        self.predict.observe(seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``/stats``."""
        total = sum(self.requests.values())
        # A model that raised on its input answered 400, the caller's to fix, yet the model
        # failed: rollouts judge a new model by these too, as they did when it was a 500.
        failed = sum(n for status, n in self.requests.items() if status >= 500)
        failed += self.errors.get(InputRejected.code, 0)
        return {
            "requests": total,
            "by_status": {str(k): v for k, v in sorted(self.requests.items())},
            "errors": dict(sorted(self.errors.items())),
            "failed": failed,
            "error_rate": failed / total if total else 0.0,
            "in_flight": self.in_flight,
            "latency_s": self.latency.to_dict(),
            "predict_s": self.predict.to_dict(),
            "batch_rows": self.batch_rows.to_dict(),
            "batch_requests": self.batch_requests.to_dict(),
        }


class Metrics:
    """All statistics of one worker process."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.started = time.time()
        self.variants: dict[str, VariantStats] = {}
        #: Requests that failed before reaching a variant (unknown route or pinned variant).
        self.unrouted = VariantStats()
        self.shadow_dropped = 0
        self.capture_records = 0
        self.capture_dropped = 0
        self.capture_write_errors = 0
        self.access_log_dropped = 0

    def variant(self, name: str) -> VariantStats:
        """The statistics of the variant called ``name`` (created on first use)."""
        stats = self.variants.get(name)
        if stats is None:
            stats = self.variants[name] = VariantStats()
        return stats

    def forget(self, name: str) -> None:
        """Drop the statistics of the variant called ``name`` (it serves no more)."""
        self.variants.pop(name, None)

    def snapshot(self) -> dict[str, Any]:
        """JSON form for ``/stats``."""
        return {
            "endpoint": self.endpoint,
            "pid": os.getpid(),
            "uptime_s": time.time() - self.started,
            "variants": {name: s.to_dict() for name, s in sorted(self.variants.items())},
            "unrouted": self.unrouted.to_dict(),
            "shadow_dropped": self.shadow_dropped,
            "capture": {
                "records": self.capture_records,
                "dropped": self.capture_dropped,
                "write_errors": self.capture_write_errors,
            },
            "access_log_dropped": self.access_log_dropped,
        }

    def render(self, workers_info: dict[str, str] | None = None) -> str:
        """Prometheus text exposition (format 0.0.4)."""
        out: list[str] = []
        base = {"endpoint": self.endpoint}
        labelled = [*((name, s) for name, s in sorted(self.variants.items())), ("", self.unrouted)]

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        family("dockyard_endpoint_requests_total", "counter", "Requests answered, by status.")
        for variant, stats in labelled:
            for status, n in sorted(stats.requests.items()):
                labels = {**base, "variant": variant, "status": str(status)}
                out.append(f"dockyard_endpoint_requests_total{_labels(labels)} {n}")
        family("dockyard_endpoint_errors_total", "counter", "Failed requests, by error code.")
        for variant, stats in labelled:
            for code, n in sorted(stats.errors.items()):
                labels = {**base, "variant": variant, "code": code}
                out.append(f"dockyard_endpoint_errors_total{_labels(labels)} {n}")
        family("dockyard_endpoint_in_flight", "gauge", "Requests being answered now.")
        for variant, stats in labelled[:-1]:
            labels = {**base, "variant": variant}
            out.append(f"dockyard_endpoint_in_flight{_labels(labels)} {stats.in_flight}")
        histograms = (
            ("dockyard_endpoint_request_duration_seconds", "latency", "Request latency."),
            ("dockyard_endpoint_predict_duration_seconds", "predict", "Predict call duration."),
            ("dockyard_endpoint_batch_rows", "batch_rows", "Rows per predict call."),
            ("dockyard_endpoint_batch_requests", "batch_requests", "Requests per predict call."),
        )
        for name, attribute, help_text in histograms:
            family(name, "histogram", help_text)
            for variant, stats in labelled[:-1]:
                _histogram(out, name, {**base, "variant": variant}, getattr(stats, attribute))
        counters = (
            (
                "dockyard_endpoint_shadow_dropped_total",
                self.shadow_dropped,
                "Shadow copies dropped.",
            ),
            ("dockyard_endpoint_capture_records_total", self.capture_records, "Records captured."),
            ("dockyard_endpoint_capture_dropped_total", self.capture_dropped, "Records dropped."),
            (
                "dockyard_endpoint_capture_write_errors_total",
                self.capture_write_errors,
                "Failed capture writes.",
            ),
            (
                "dockyard_endpoint_access_log_dropped_total",
                self.access_log_dropped,
                "Access log lines dropped.",
            ),
        )
        for name, value, help_text in counters:
            family(name, "counter", help_text)
            out.append(f"{name}{_labels(base)} {value}")
        family("dockyard_worker_info", "gauge", "This worker process.")
        info = {**base, "pid": str(os.getpid()), **(workers_info or {})}
        out.append(f"dockyard_worker_info{_labels(info)} 1")
        return "\n".join(out) + "\n"


def _histogram(out: list[str], name: str, labels: dict[str, str], hist: Histogram) -> None:
    for le, count in hist.cumulative():
        out.append(f"{name}_bucket{_labels({**labels, 'le': le})} {count}")
    out.append(f"{name}_sum{_labels(labels)} {_number(hist.sum)}")
    out.append(f"{name}_count{_labels(labels)} {hist.count}")


def _labels(labels: dict[str, str]) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
