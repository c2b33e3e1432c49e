"""Structured access log: one JSON line per request, written in batches off the request path.

The request path queues a tuple; the writer thread formats and writes lines about once per
``interval_s``, so a burst of thousands of requests a second costs one write call, and a stderr
pipe nobody reads cannot stall the event loop (the queue is bounded; overflow is counted)::

    {"ts": "2026-11-05T20:53:14.123Z", "request_id": "4f1c09d2-1a", "endpoint": "churn",
     "variant": "blue", "method": "POST", "path": "/invocations", "status": 200,
     "latency_ms": 0.61}
"""

from __future__ import annotations

import random
import sys
import time
from typing import TextIO

import orjson

from dockyard.runtime.serving._metrics import Metrics
from dockyard.runtime.serving._sink import Sink

__all__ = ["AccessLog"]

Entry = tuple[float, bytes, str, str, str, int, float]


class AccessLog:
    """Buffered JSON access log.

    Args:
        endpoint: Written on every line.
        metrics: Counts lines dropped when the writer falls behind.
        sampling_pct: Share of successful (< 400) requests logged; errors always are.
        stream: Where lines go (stderr by default).
        interval_s: Time between writes.
    """

    def __init__(
        self,
        endpoint: str,
        metrics: Metrics,
        *,
        sampling_pct: float = 100.0,
        stream: TextIO | None = None,
        interval_s: float = 0.5,
    ) -> None:
        self._endpoint = endpoint
        self._metrics = metrics
        self._fraction = sampling_pct / 100
        self._stream = stream
        self._random = random.random
        self._sink: Sink[Entry] = Sink(
            f"access-log-{endpoint}", self._write, interval_s=interval_s, max_bytes=100_000
        )

    def record(
        self,
        request_id: bytes,
        variant: str,
        method: str,
        path: str,
        status: int,
        seconds: float,
    ) -> None:
        """Queue one line (sampled for successes)."""
        if status < 400 and self._fraction < 1.0 and self._random() >= self._fraction:
            return
        entry = (time.time(), request_id, variant, method, path, status, seconds)
        if not self._sink.put(entry):
            self._metrics.access_log_dropped += 1

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._sink.close(5.0)

    def _write(self, entries: list[Entry]) -> None:
        endpoint = self._endpoint
        lines = []
        for ts, request_id, variant, method, path, status, seconds in entries:
            stamp = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
            )
            line = {
                "ts": stamp,
                "request_id": request_id.decode("latin-1"),
                "endpoint": endpoint,
                "variant": variant or None,
                "method": method,
                "path": path,
                "status": status,
                "latency_ms": round(seconds * 1000, 3),
            }
            lines.append(orjson.dumps(line).decode())
        stream = self._stream or sys.stderr
        stream.write("\n".join(lines) + "\n")
        stream.flush()
