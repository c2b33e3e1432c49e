"""Model quality from predictions and ground truth, under SageMaker's model-quality names.

- ``regression``: ``mae``, ``mse``, ``rmse``, ``r2``;
- ``binary``: ``accuracy``, ``precision``, ``recall``, ``f1``, ``true_positive_rate``,
  ``true_negative_rate``, ``false_positive_rate``, ``false_negative_rate``, ``auc`` (ROC, when
  probabilities of the positive class are given; ties averaged), ``confusion_matrix``;
- ``multiclass``: ``accuracy``, ``weighted_precision``, ``weighted_recall``, ``weighted_f1``
  (also as ``precision``, ``recall``, ``f1``), ``confusion_matrix``.

The binary positive class is ``1`` (or ``True`` / ``"1"`` / ``"true"``); ``confusion_matrix`` is
``{actual: {predicted: count}}`` with labels as strings. The result has the layout of
SageMaker's model-quality ``statistics.json``: ``{"version", "dataset": {"item_count"},
"<problem>_metrics": {name: {"value", "standard_deviation"}}}`` (``regression_metrics``,
``binary_classification_metrics``, ``multiclass_classification_metrics``);
``standard_deviation`` is 0.0, since metrics are computed once, not bootstrapped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from dockyard.errors import InvalidArgument

__all__ = ["model_quality"]


def model_quality(
    predictions: Sequence[Any],
    labels: Sequence[Any],
    problem_type: Literal["regression", "binary", "multiclass"],
    probabilities: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Metrics of ``predictions`` against ``labels`` (same length, aligned)."""
    if len(predictions) != len(labels):
        raise InvalidArgument(
            f"predictions and labels differ in length ({len(predictions)} and {len(labels)})",
            field="labels",
        )
    if not len(labels):
        raise InvalidArgument("no predictions with labels to score", field="labels")
    if problem_type == "regression":
        metrics = _regression(predictions, labels)
    elif problem_type == "binary":
        metrics = _binary(predictions, labels, probabilities)
    elif problem_type == "multiclass":
        metrics = _multiclass(predictions, labels)
    else:
        raise InvalidArgument(
            f"problem_type must be regression, binary or multiclass, got {problem_type!r}",
            field="problem_type",
        )
    key = (
        "regression_metrics"
        if problem_type == "regression"
        else f"{problem_type}_classification_metrics"
    )
    body = {
        name: value if name == "confusion_matrix" else {"value": value, "standard_deviation": 0.0}
        for name, value in metrics.items()
    }
    return {"version": 0.0, "dataset": {"item_count": len(labels)}, key: body}


def _floats(values: Sequence[Any], field: str) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{field} must be numbers for regression", field=field) from None
    if not np.all(np.isfinite(array)):
        raise InvalidArgument(f"{field} holds a missing or infinite value", field=field)
    return array


def _regression(predictions: Sequence[Any], labels: Sequence[Any]) -> dict[str, Any]:
    y_hat = _floats(predictions, "predictions")
    y = _floats(labels, "labels")
    error = y_hat - y
    mse = float(np.mean(error**2))
    spread = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum(error**2)) / spread if spread > 0 else 0.0
    return {"mae": float(np.mean(np.abs(error))), "mse": mse, "rmse": math.sqrt(mse), "r2": r2}


def _positive(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "1.0")
    return bool(value)


def _confusion(predicted: list[str], actual: list[str]) -> dict[str, dict[str, int]]:
    labels = sorted(set(predicted) | set(actual))
    matrix = {a: dict.fromkeys(labels, 0) for a in labels}
    for p, a in zip(predicted, actual, strict=True):
        matrix[a][p] += 1
    return matrix


def _binary(
    predictions: Sequence[Any], labels: Sequence[Any], probabilities: Sequence[float] | None
) -> dict[str, Any]:
    p = np.array([_positive(v) for v in predictions])
    y = np.array([_positive(v) for v in labels])
    tp = int(np.sum(p & y))
    tn = int(np.sum(~p & ~y))
    fp = int(np.sum(p & ~y))
    fn = int(np.sum(~p & y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    metrics: dict[str, Any] = {
        "accuracy": (tp + tn) / len(y),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "true_positive_rate": recall,
        "true_negative_rate": tn / (tn + fp) if tn + fp else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 0.0,
    }
    if probabilities is not None:
        if len(probabilities) != len(y):
            raise InvalidArgument(
                "probabilities and labels differ in length", field="probabilities"
            )
        metrics["auc"] = _auc(_floats(probabilities, "probabilities"), y)
    metrics["confusion_matrix"] = _confusion(
        ["1" if v else "0" for v in p], ["1" if v else "0" for v in y]
    )
    return metrics


def _auc(scores: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties given their average rank."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return 0.0
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _multiclass(predictions: Sequence[Any], labels: Sequence[Any]) -> dict[str, Any]:
    predicted = [str(v) for v in predictions]
    actual = [str(v) for v in labels]
    matrix = _confusion(predicted, actual)
    total = len(actual)
    precision = recall = f1 = 0.0
    for label, row in matrix.items():
        support = sum(row.values())
        if not support:
            continue
        tp = row[label]
        predicted_count = sum(matrix[a][label] for a in matrix)
        p = tp / predicted_count if predicted_count else 0.0
        r = tp / support
        weight = support / total
        precision += weight * p
        recall += weight * r
        f1 += weight * (2 * p * r / (p + r) if p + r else 0.0)
    accuracy = sum(matrix[label][label] for label in matrix) / total
    return {
        "accuracy": accuracy,
        "weighted_precision": precision,
        "weighted_recall": recall,
        "weighted_f1": f1,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion_matrix": matrix,
    }
