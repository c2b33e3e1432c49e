"""The monitoring half of step 6: the endpoint's captured traffic is checked against a baseline
suggested from the training features; drifted traffic makes a violation, and a trigger that
follows ``monitoring.violation`` events starts the retrain pipeline.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import dockyard as dy
from dockyard.errors import NotFound, Unavailable

__all__ = ["SCHEDULE", "drift_starts_retrain", "watch"]

SCHEDULE = "diabetes-drift"
TRIGGER = "diabetes-on-drift"
_ROWS_PER_REQUEST = 5


def watch(endpoint: str, features: np.ndarray, work: Path) -> dy.Monitor:
    """A schedule over ``endpoint``'s capture, its baseline suggested (in a baseline job) from
    the training features, as a headerless CSV like the requests the endpoint gets."""
    path = work / "baseline" / "features.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, features, delimiter=",", fmt="%.6f")
    with contextlib.suppress(NotFound):
        dy.Monitor(schedule=SCHEDULE).delete()
    monitor = dy.Monitor(endpoint=endpoint).suggest_baseline(path, header=False)
    monitor.create_schedule(SCHEDULE, schedule="hourly")
    return monitor


def _send(url: str, rows: np.ndarray) -> int:
    """``rows`` to the endpoint as CSV requests of a few rows each; how many answered 200."""
    answered = 0
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(0, len(rows), _ROWS_PER_REQUEST):
            chunk = rows[i : i + _ROWS_PER_REQUEST]
            body = "\n".join(",".join(f"{v:.6f}" for v in row) for row in chunk)
            answer = http.post(
                "/invocations", content=body.encode(), headers={"content-type": "text/csv"}
            )
            answered += answer.status_code == 200
    return answered


def drift_starts_retrain(
    monitor: dy.Monitor, url: str, features: np.ndarray, pipeline: str, work_input: Any
) -> str:
    """Send drifted traffic, check its window now, and return the name of the pipeline
    execution the violation started."""
    with contextlib.suppress(NotFound):
        dy.delete_trigger(TRIGGER)
    dy.create_trigger(
        TRIGGER,
        pipeline=pipeline,
        input=work_input,
        events=["monitoring.violation"],
        filter={"resource_id": [SCHEDULE]},
    )
    schedule = monitor.wait_for_baseline()
    if schedule.failure_reason:
        raise SystemExit(f"the baseline could not be suggested: {schedule.failure_reason}")
    print(f"  schedule {SCHEDULE}: baseline suggested from {len(features)} training rows")
    # The population has moved: two features shifted by about two of their spreads.
    drifted = features.copy()
    drifted[:, 2] += 2 * features[:, 2].std()
    drifted[:, 8] += 2 * features[:, 8].std()
    start = int(time.time() * 1000)
    answered = _send(url, drifted)
    end = int(time.time() * 1000) + 1
    print(f"  {len(drifted)} drifted rows sent in {answered} requests")
    execution = monitor.wait(monitor.run(start=start, end=end).execution_id, timeout=120)
    drifted_features = [d["feature"] for d in execution.drifted_features if d.get("drifted")]
    print(
        f"  check {execution.status.value}: {execution.rows} rows, "
        f"{execution.violation_count} violations {dict(execution.violations_by_type)}; "
        f"drifted: {', '.join(drifted_features) or '-'}"
    )
    if not execution.violation_count:
        raise SystemExit("the drifted traffic raised no violation")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for firing in dy.trigger_history(TRIGGER):
            if firing.job:
                print(f"  violation -> trigger {TRIGGER} -> execution {firing.job}")
                return str(firing.job)
            if firing.error:
                raise SystemExit(f"the drift trigger failed: {firing.error}")
        time.sleep(0.2)
    raise Unavailable(f"trigger {TRIGGER} did not fire within 60 s of the violation")
