"""Data capture: sampled request/response records, as JSON Lines, in the artifact store.

Each flush writes one new file per (variant, UTC hour) under
``<endpoint>/<variant>/<YYYY>/<MM>/<DD>/<HH>/<YYYYMMDDTHHMMSS>-<worker>-<seq>.jsonl``; files are
never appended to (S3 cannot append), and the worker tag keeps the workers of one endpoint from
overwriting each other's files. One record per line::

    {"request_id": "4f1c09d2-1a", "time": "2026-11-05T20:53:14.123456Z", "endpoint": "churn",
     "variant": "blue", "kind": "production", "status": 200, "latency_ms": 0.61,
     "input": {"content_type": "application/json", "encoding": "json", "data": {...}},
     "output": {"content_type": "application/json", "encoding": "json", "data": {...}}}

``encoding`` is ``json`` (``data`` is the parsed body), ``text`` (CSV, JSON Lines) or ``base64``
(binary bodies); ``kind`` is ``shadow`` for a shadow variant's answer. Serialising happens on the
writer thread: the request path only queues references to bytes it already holds.
"""

from __future__ import annotations

import base64
import itertools
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from dockyard.api.serving.config import CaptureConfig
from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.errors import DockyardError
from dockyard.runtime.serving._metrics import Metrics
from dockyard.runtime.serving._sink import Sink

__all__ = ["CaptureWriter", "Exchange"]

_ATTEMPTS = (0.0, 0.2, 1.0)  # delays before each write attempt
_TEXT_TYPES = (b"text/", b"application/jsonlines", b"application/x-jsonlines", b"application/jsonl")


@dataclass(slots=True)
class Exchange:
    """One captured request/response pair (bodies are the bytes seen on the wire)."""

    request_id: bytes
    time: float
    variant: str
    kind: str
    status: int
    latency_ms: float
    input_type: bytes | None
    input: bytes | None
    output_type: bytes | None
    output: bytes | None


class CaptureWriter:
    """Queues exchanges from the event loop and writes them from a background thread.

    Args:
        config: Capture options (destination, flush interval, queue bound).
        endpoint: The endpoint's name, the first path segment of every file.
        metrics: Where records, drops and write failures are counted.
    """

    def __init__(self, config: CaptureConfig, endpoint: str, metrics: Metrics) -> None:
        assert config.destination is not None  # enforced by CaptureConfig
        self.config = config
        self.store: ArtifactStore = open_artifact_store(
            config.destination, s3_endpoint_url=config.s3_endpoint_url
        )
        self._endpoint = endpoint
        self._metrics = metrics
        self._tag = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        self._sequence = itertools.count()
        self._sink: Sink[Exchange] = Sink(
            f"capture-{endpoint}",
            self._write,
            interval_s=config.flush_interval_s,
            max_bytes=config.max_queue_bytes,
        )

    def put(self, exchange: Exchange) -> None:
        """Queue one exchange; never blocks (a full queue drops it and counts the drop)."""
        size = 256 + len(exchange.input or b"") + len(exchange.output or b"")
        if self._sink.put(exchange, size):
            self._metrics.capture_records += 1
        else:
            self._metrics.capture_dropped += 1

    def close(self, timeout_s: float = 30.0) -> None:
        """Write everything queued, then stop."""
        self._sink.close(timeout_s)

    def _write(self, batch: list[Exchange]) -> None:
        files: dict[tuple[str, str], list[bytes]] = {}
        for exchange in batch:
            hour = time.strftime("%Y/%m/%d/%H", time.gmtime(exchange.time))
            files.setdefault((exchange.variant, hour), []).append(self._line(exchange))
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for (variant, hour), lines in files.items():
            key = (
                f"{self._endpoint}/{variant}/{hour}/"
                f"{stamp}-{self._tag}-{next(self._sequence):06d}.jsonl"
            )
            self._put(key, b"".join(lines))

    def _put(self, key: str, data: bytes) -> None:
        for delay in _ATTEMPTS:
            time.sleep(delay)
            try:
                self.store.put_bytes(key, data)
                return
            except DockyardError as exc:
                error: DockyardError = exc
        self._metrics.capture_write_errors += 1
        raise error

    def _line(self, exchange: Exchange) -> bytes:
        record: dict[str, Any] = {
            "request_id": exchange.request_id.decode("latin-1"),
            "time": datetime.fromtimestamp(exchange.time, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "endpoint": self._endpoint,
            "variant": exchange.variant,
            "kind": exchange.kind,
            "status": exchange.status,
            "latency_ms": round(exchange.latency_ms, 3),
        }
        if exchange.input is not None:
            record["input"] = _body(exchange.input_type, exchange.input)
        if exchange.output is not None:
            record["output"] = _body(exchange.output_type, exchange.output)
        return orjson.dumps(record) + b"\n"


def _body(content_type: bytes | None, data: bytes) -> dict[str, Any]:
    media = (content_type or b"").split(b";", 1)[0].strip().lower()
    shown = media.decode("latin-1") or None
    if media in (b"", b"application/json"):
        try:
            return {"content_type": shown, "encoding": "json", "data": orjson.loads(data)}
        except orjson.JSONDecodeError:
            pass
    if media.startswith(_TEXT_TYPES) or media in (b"", b"application/json"):
        try:
            return {"content_type": shown, "encoding": "text", "data": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"content_type": shown, "encoding": "base64", "data": base64.b64encode(data).decode()}
