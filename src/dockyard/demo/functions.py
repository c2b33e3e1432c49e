"""The demo's pipeline functions (the Lambda equivalent): each runs in a process of its own,
JSON in and out. The demo's server registers them with ``DOCKYARD_PIPELINE_FUNCTIONS``."""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate"]


def evaluate(event: dict[str, Any]) -> dict[str, Any]:
    """Gate a retrained model: its validation RMSE (the last one its run logged) against the
    quality bar read from the parameter store."""
    metrics: dict[str, float] = event.get("metrics") or {}
    found = [v for k, v in metrics.items() if "validation" in k and "rmse" in k]
    if not found:
        raise ValueError(
            f"the training run logged no validation RMSE (it logged {sorted(metrics)})"
        )
    rmse = round(float(found[0]), 3)
    bar = float(event["max_rmse"])
    return {"rmse": rmse, "max_rmse": bar, "passed": rmse <= bar}
