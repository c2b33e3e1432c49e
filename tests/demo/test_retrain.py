"""The demo's retrain pipeline: a valid document with the seeds' steps, and its quality gate."""

from __future__ import annotations

import pytest

from dockyard.asl import validate
from dockyard.demo._retrain import retrain_pipeline
from dockyard.demo.functions import evaluate


def test_the_retrain_pipeline_is_valid_and_gates_before_registering() -> None:
    pipeline = retrain_pipeline(
        "m", "e", {"train": "s3://b/train/", "validation": "s3://b/validation/"}, {"eta": 0.2}
    )
    document = pipeline.definition()

    assert validate(document) == []
    states = document["States"]
    assert list(states)[:4] == ["ReadSettings", "Train", "Evaluate", "GoodEnough"]
    assert states["Train"]["Parameters"]["hyperparameters"] == {
        "eta": "0.2",
        "max_depth.$": "$.settings[0].value",
    }
    gate = states["GoodEnough"]
    assert gate["Choices"][0]["Next"] == "Register" and gate["Default"] == "Rejected"
    assert [states[s]["Next"] for s in ("Register", "CanaryDeploy", "Promote")] == [
        "CanaryDeploy",
        "Promote",
        "Announce",
    ]
    assert states["CanaryDeploy"]["Resource"] == "dockyard:endpoint:deploy.sync"


def test_evaluate_passes_what_meets_the_bar() -> None:
    metrics = {"train-rmse": 30.0, "validation-rmse": 56.4}
    assert evaluate({"metrics": metrics, "max_rmse": "70"}) == {
        "rmse": 56.4,
        "max_rmse": 70.0,
        "passed": True,
    }
    assert evaluate({"metrics": metrics, "max_rmse": "50"})["passed"] is False
    with pytest.raises(ValueError, match="no validation RMSE"):
        evaluate({"metrics": {"train-rmse": 1.0}, "max_rmse": "1"})
