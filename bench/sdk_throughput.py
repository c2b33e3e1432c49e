"""Dockyard SDK throughput: ``log_metric`` calls logged and flushed per second from one loop.

The embedded default (the same HTTP app, in process, over a fresh SQLite home). Run:
``.venv/bin/python bench/sdk_throughput.py [--points N]``. ``bench/tracking.py`` measures the
same against a server over HTTP, beside MLflow.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import dockyard as dy
from dockyard.client import sdk
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    points = parser.parse_args().points
    reset_context(Settings(home=Path(tempfile.mkdtemp(prefix="dockyard-sdk-")), uri=None))
    start = time.perf_counter()
    with dy.start_run() as run:  # leaving the block flushes every buffered point
        for step in range(points):
            dy.log_metric("loss", step * 0.001, step=step)
    elapsed = time.perf_counter() - start
    client = sdk.context().client
    stored, token = 0, None
    while True:  # every point must be stored, once
        page = client.request(
            "GET",
            f"/api/v1/runs/{run.run_id}/metrics/loss",
            params={"max_results": 100_000, **({"page_token": token} if token else {})},
        )
        stored += len(page["metrics"])
        token = page.get("next_page_token")
        if not token:
            break
    assert stored == points, stored
    print(f"{points:,} points logged and flushed in {elapsed:.2f} s: {points / elapsed:,.0f}/s")


if __name__ == "__main__":
    main()
