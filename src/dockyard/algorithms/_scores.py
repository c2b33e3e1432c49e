"""Evaluation scores computed with scikit-learn, shared by the built-in algorithms.

XGBoost computes its own metrics; these are the extra ones SageMaker's XGBoost container offers
(``accuracy``, ``f1``, ``mse``, ``r2``...) and linear learner's final scores. Scores that are
undefined on the data (precision with no positive prediction, AUC with one class) are 0 or left
out rather than warnings, since they are printed every round.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "binary_scores",
    "class_predictions",
    "regression_scores",
    "xgboost_custom_metric",
]

Array = np.ndarray[Any, Any]


def class_predictions(predictions: Array, objective: str) -> Array:
    """Predicted class labels from what an XGBoost objective outputs."""
    if predictions.ndim == 2:  # multi:softprob: one probability per class
        return np.asarray(np.argmax(predictions, axis=1), dtype=np.float64)
    if objective in ("multi:softmax", "binary:hinge"):
        return predictions
    threshold = 0.0 if objective == "binary:logitraw" else 0.5
    return np.asarray(predictions > threshold, dtype=np.float64)


def _classification(name: str) -> Callable[[Array, Array, Array, str], float]:
    from sklearn import metrics

    def score(labels: Array, predictions: Array, classes: Array, objective: str) -> float:
        multi = objective.startswith("multi:")
        if name == "accuracy":
            return float(metrics.accuracy_score(labels, classes))
        if name == "balanced_accuracy":
            return float(metrics.balanced_accuracy_score(labels, classes))
        base, _, average = name.partition("_")
        average = average or ("macro" if multi else "binary")
        function = {
            "f1": metrics.f1_score,
            "precision": metrics.precision_score,
            "recall": metrics.recall_score,
        }[base]
        return float(function(labels, classes, average=average, zero_division=0.0))

    return score


def _regression(name: str) -> Callable[[Array, Array, Array, str], float]:
    from sklearn import metrics

    def score(labels: Array, predictions: Array, classes: Array, objective: str) -> float:
        values = classes if predictions.ndim == 2 else predictions
        if name == "mse":
            return float(metrics.mean_squared_error(labels, values))
        return float(metrics.r2_score(labels, values))

    return score


def xgboost_custom_metric(
    names: Sequence[str], objective: str
) -> Callable[[Array, Any], list[tuple[str, float]]]:
    """XGBoost's ``custom_metric``: SageMaker's extra metrics on transformed predictions."""
    scorers = {
        name: _regression(name) if name in ("mse", "r2") else _classification(name)
        for name in names
    }

    def evaluate(predictions: Array, dmatrix: Any) -> list[tuple[str, float]]:
        labels = dmatrix.get_label()
        classes = class_predictions(predictions, objective)
        with warnings.catch_warnings():
            # e.g. "y_pred contains classes not in y_true": expected early in training.
            warnings.simplefilter("ignore")
            return [
                (name, scorer(labels, predictions, classes, objective))
                for name, scorer in scorers.items()
            ]

    return evaluate


def regression_scores(labels: Array, predictions: Array) -> dict[str, float]:
    """Linear learner's final regression scores."""
    errors = predictions - labels
    mse = float(np.mean(errors**2))
    return {"mse": mse, "rmse": mse**0.5, "absolute_loss": float(np.mean(np.abs(errors)))}


def binary_scores(
    labels: Array, probabilities: Array | None, classes: Array, *, beta: float
) -> dict[str, float]:
    """Linear learner's final binary-classification scores (AUC needs probabilities)."""
    from sklearn import metrics

    scores = {
        "binary_classification_accuracy": float(metrics.accuracy_score(labels, classes)),
        "binary_f_beta": float(metrics.fbeta_score(labels, classes, beta=beta, zero_division=0.0)),
        "precision": float(metrics.precision_score(labels, classes, zero_division=0.0)),
        "recall": float(metrics.recall_score(labels, classes, zero_division=0.0)),
    }
    if probabilities is not None and len(np.unique(labels)) == 2:
        scores["roc_auc_score"] = float(metrics.roc_auc_score(labels, probabilities))
    return scores
