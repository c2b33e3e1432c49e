from __future__ import annotations

import math

import pytest

from dockyard.errors import InvalidArgument
from dockyard.monitor import model_quality


def _values(report: dict[str, object], key: str) -> dict[str, object]:
    metrics = report[key]
    assert isinstance(metrics, dict)
    return {k: v if k == "confusion_matrix" else v["value"] for k, v in metrics.items()}


def test_regression_metrics() -> None:
    report = model_quality([2.0, 4.0, 6.0], [1.0, 4.0, 8.0], "regression")
    assert report["dataset"] == {"item_count": 3}
    metrics = _values(report, "regression_metrics")
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["mse"] == pytest.approx(5 / 3)
    assert metrics["rmse"] == pytest.approx(math.sqrt(5 / 3))
    # Labels' mean 13/3: total sum of squares 74/3; residual sum of squares 5.
    assert metrics["r2"] == pytest.approx(1 - 5 / (74 / 3))


def test_binary_metrics_with_auc_and_confusion_matrix() -> None:
    predictions = [1, 1, 0, 0, 1, 0]
    labels = [1, 0, 0, 1, 1, 0]
    scores = [0.9, 0.6, 0.2, 0.55, 0.8, 0.1]
    metrics = _values(
        model_quality(predictions, labels, "binary", scores), "binary_classification_metrics"
    )
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert metrics["false_positive_rate"] == pytest.approx(1 / 3)
    # Positives score 0.9, 0.55, 0.8; negatives 0.6, 0.2, 0.1: 8 of 9 pairs ordered.
    assert metrics["auc"] == pytest.approx(8 / 9)
    assert metrics["confusion_matrix"] == {"0": {"0": 2, "1": 1}, "1": {"0": 1, "1": 2}}


def test_multiclass_metrics_are_support_weighted() -> None:
    predictions = ["a", "a", "b", "c", "c", "c"]
    labels = ["a", "b", "b", "c", "c", "a"]
    metrics = _values(
        model_quality(predictions, labels, "multiclass"), "multiclass_classification_metrics"
    )
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    # a: p 1/2 r 1/2; b: p 1 r 1/2; c: p 2/3 r 1; supports 2, 2, 2.
    assert metrics["weighted_precision"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    assert metrics["weighted_recall"] == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert metrics["precision"] == metrics["weighted_precision"]
    assert metrics["confusion_matrix"]["a"] == {"a": 1, "b": 0, "c": 1}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (([1, 2], [1], "regression"), "labels"),
        (([], [], "binary"), "labels"),
        ((["x"], [1.0], "regression"), "predictions"),
        (([1], [1], "ranking"), "problem_type"),
        (([1, 0], [1, 0], "binary", [0.5]), "probabilities"),
    ],
)
def test_bad_inputs_name_the_field(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        model_quality(*args)  # type: ignore[arg-type]
    assert caught.value.field == field
