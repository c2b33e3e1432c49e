"""Metric definitions applied to the job's log, logged to the job's run as they appear."""

from __future__ import annotations

import re
import time
from typing import Any

from dockyard.client.http import Client, SocketTransport
from dockyard.client.sdk import MetricSender

__all__ = ["MetricParser"]


class MetricParser:
    """Matches each log line against the job's regexes (SageMaker's MetricDefinitions)."""

    def __init__(self, spec: dict[str, Any], job: dict[str, Any]) -> None:
        definitions = list(spec.get("metric_definitions") or [])
        self._builtin: Any = None
        if spec.get("algorithm"):
            from dockyard.algorithms import BUILTIN_ALGORITHMS

            # A built-in's own parser knows the round each value belongs to: it is the step.
            self._builtin = BUILTIN_ALGORITHMS[spec["algorithm"]]
        self._patterns = [(d["name"], re.compile(d["regex"])) for d in definitions]
        self._steps: dict[str, int] = {}
        self._run_id = job.get("run_id")
        self._sender: MetricSender | None = None
        if (self._patterns or self._builtin) and self._run_id and job.get("server_url"):
            # Plain sockets, as the runner's other calls: an httpx client would import httpx
            # (~0.3 s) when the job's first line comes, which is often its last one too.
            client = Client(job["server_url"], token=job.get("token"), transport=SocketTransport())
            self._sender = MetricSender(client, interval=0.5)

    def feed(self, line: str) -> None:
        if self._sender is None:
            return
        assert self._run_id is not None
        now = time.time_ns() // 1_000_000
        if self._builtin is not None:
            parsed = self._builtin.parse_metrics(line)
            if parsed is not None:
                for name, value in parsed.values.items():
                    step = parsed.step if parsed.step is not None else self._steps.get(name, 0)
                    self._steps[name] = step + 1
                    self._sender.add((self._run_id, name, value, now, step))
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if not match:
                continue
            try:
                value = float(match.group(1))
            except (ValueError, IndexError):
                continue
            step = self._steps.get(name, 0)
            self._steps[name] = step + 1
            self._sender.add((self._run_id, name, value, now, step))

    def flush(self) -> None:
        if self._sender is not None:
            self._sender.flush(timeout=60)
