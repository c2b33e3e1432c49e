"""The tuning pages: the list, and one tuning job's trials, objective over time, parallel
coordinates and importance, drawn from a real tuning job of the built-in XGBoost."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Seeded, Watched

pytestmark = pytest.mark.slow
TIMEOUT_MS = 90_000


def test_a_tuning_job_from_the_list_to_its_trials(page: Watched, seeded: Seeded) -> None:
    rows = "".join(f"{i * 0.5 + (i % 3)},{i},{i % 5}\n" for i in range(40))
    with seeded.client() as c:
        upload = c.put("/api/v1/data/ui-tuning/train.csv", content=rows.encode())
        assert upload.status_code < 300, upload.text
        body: dict[str, Any] = {
            "name": "ui-tune",
            "config": {
                "strategy": "Random",
                "objective": {"type": "Minimize", "metric_name": "train:rmse"},
                "resource_limits": {"max_jobs": 3, "max_parallel_jobs": 1},
                "parameter_ranges": {
                    "integer": [{"name": "max_depth", "min_value": 2, "max_value": 4}],
                    "continuous": [{"name": "eta", "min_value": 0.1, "max_value": 0.5}],
                },
                "random_seed": 1,
            },
            "training_job": {
                "algorithm": "xgboost",
                "hyperparameters": {"num_round": 3, "objective": "reg:squarederror"},
                "inputs": {"train": {"uri": upload.json()["uri"], "content_type": "text/csv"}},
                "resources": {"cpus": 0.5},
            },
        }
        made = c.post("/api/v1/tuning-jobs", json=body)
        assert made.status_code == 201, made.text
    p = page.goto("/tuning")
    p.wait_for_selector("#tuning-jobs >> text=ui-tune", timeout=TIMEOUT_MS)
    p.click("#tuning-jobs >> text=ui-tune")
    # The page follows the tuning job's events: the trials complete while it is shown, and
    # Stop is disabled once it has ended.
    p.wait_for_selector("#stop-tuning[disabled]", timeout=TIMEOUT_MS)
    p.wait_for_selector("#importance >> text=max_depth", timeout=TIMEOUT_MS)
    trials = p.inner_text("#trials")
    assert trials.count("Completed") == 3, trials
    assert p.query_selector("#objective-over-time canvas") is not None
    assert "No trial has completed yet" not in p.inner_text("#objective-over-time")
    # x counts completed trials, which the table numbers from 0: not a training step.
    assert "trials completed" in p.inner_text("#objective-over-time")
    assert p.query_selector("#parallel canvas") is not None
    page.shot("tuning")
