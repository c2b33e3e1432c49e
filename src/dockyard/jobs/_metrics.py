"""Metric definitions applied to the job's log, logged to the job's run as they appear."""

from __future__ import annotations

import re
import time
from typing import Any

from dockyard.sdk import Client
from dockyard.sdk._sender import MetricSender

__all__ = ["MetricParser"]


class MetricParser:
    """Matches each log line against the job's regexes (SageMaker's MetricDefinitions)."""

    def __init__(self, spec: dict[str, Any], job: dict[str, Any]) -> None:
        definitions = list(spec.get("metric_definitions") or [])
        if spec.get("algorithm"):
            from dockyard.jobs.algorithms import BUILTIN_ALGORITHMS

            builtin = BUILTIN_ALGORITHMS[spec["algorithm"]]
            known = {d["name"] for d in definitions}
            definitions += [
                {"name": d["name"], "regex": d["regex"]}
                for d in builtin.metric_definitions
                if d["name"] not in known
            ]
        self._patterns = [(d["name"], re.compile(d["regex"])) for d in definitions]
        self._steps: dict[str, int] = {}
        self._run_id = job.get("run_id")
        self._sender: MetricSender | None = None
        if self._patterns and self._run_id and job.get("server_url"):
            self._sender = MetricSender(Client(job["server_url"]), interval=0.5)

    def feed(self, line: str) -> None:
        if self._sender is None:
            return
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
            assert self._run_id is not None
            self._sender.add((self._run_id, name, value, time.time_ns() // 1_000_000, step))

    def flush(self) -> None:
        if self._sender is not None:
            self._sender.flush(timeout=60)
