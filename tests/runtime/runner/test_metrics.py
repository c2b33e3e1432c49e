"""Metric definitions matched in the runner are sent without importing an HTTP library."""

from __future__ import annotations

import subprocess
import sys

_CHILD = """
import sys
from dockyard.runtime.runner._metrics import MetricParser
spec = {"metric_definitions": [{"name": "loss", "regex": "loss=([0-9.]+)"}]}
parser = MetricParser(spec, {"run_id": "r1", "server_url": "http://127.0.0.1:9"})
print(parser._sender is not None, "httpx" in sys.modules)
"""


def test_a_metric_parser_sends_over_plain_sockets() -> None:
    # A job's first matching line is often its last: the parser is built then, on the way to
    # the job's final status, and httpx alone took ~0.3 s to import.
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
