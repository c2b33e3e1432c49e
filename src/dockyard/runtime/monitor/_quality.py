"""Model quality: captured predictions joined with ground truth by inference id.

Every captured record carries ``request_id``; a label uploaded for that id is its truth. A
request that scored several rows is matched by a label that is a list of as many values (one
per row), or, when it scored one, by a single value. Predictions are read from the captured
answer: a bare number or string, a list of them, ``{"predictions": [...]}`` (SageMaker, MLflow),
Open Inference Protocol ``{"outputs": [{"data": [...]}]}``, CSV or JSON Lines text; objects
give their ``prediction_field`` (default ``predicted_label``, ``label``, ``prediction``,
``score``) and their ``probability_field`` for a binary model's AUC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from dockyard.api.monitoring import ModelQualityConfig, ProblemType, Threshold

__all__ = ["MAX_PROBLEMS", "Joined", "breaches", "flatten_metrics", "join", "predictions_of"]

_PREDICTION_KEYS = ("predicted_label", "label", "prediction", "score")
#: Unmatched labels described one by one; the rest are counted.
MAX_PROBLEMS = 20


@dataclass
class Joined:
    predictions: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    #: Captured records with a label but an answer it could not be matched with.
    unmatched: int = 0
    #: Why, for the first :data:`MAX_PROBLEMS` of them (by inference id).
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.unmatched += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def _scalar(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text.strip()


def _items(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        if "predictions" in data:
            return _items(data["predictions"])
        outputs = data.get("outputs")
        if isinstance(outputs, list) and outputs and isinstance(outputs[0], Mapping):
            return list(outputs[0].get("data") or [])
        return [data]
    if isinstance(data, list):
        return data
    return [data]


def predictions_of(
    output: Mapping[str, Any], config: ModelQualityConfig
) -> tuple[list[Any], list[float | None]]:
    """The predictions (and probabilities) of one captured answer, one per scored row."""
    encoding = output.get("encoding")
    data = output.get("data")
    if encoding == "text" and isinstance(data, str):
        rows: list[Any] = []
        for line in data.splitlines():
            if line.strip():
                rows.append(_scalar(line.split(",")[0]) if "," in line else _scalar(line))
        items = rows
    elif encoding == "json":
        items = _items(data)
    else:
        return [], []
    predictions: list[Any] = []
    probabilities: list[float | None] = []
    for item in items:
        if isinstance(item, Mapping):
            keys = (config.prediction_field,) if config.prediction_field else _PREDICTION_KEYS
            value = next((item[k] for k in keys if k in item), None)
            probability = item.get(config.probability_field) if config.probability_field else None
        elif isinstance(item, list) and item:
            value, probability = item[0], None
        else:
            value, probability = item, None
        predictions.append(value)
        probabilities.append(float(probability) if isinstance(probability, int | float) else None)
    return predictions, probabilities


def _label_for(problem: ProblemType, prediction: Any) -> Any:
    """A binary model's score becomes a class at 0.5 (its probability is kept for AUC)."""
    if problem is ProblemType.BINARY and isinstance(prediction, float) and 0 <= prediction <= 1:
        return int(prediction >= 0.5)
    return prediction


def join(
    records: Iterable[Mapping[str, Any]],
    truth: Mapping[str, Any],
    config: ModelQualityConfig,
) -> Joined:
    """Predictions of ``records`` (captured, production only) joined with ``truth`` (label by
    inference id)."""
    joined = Joined()
    scores: list[float | None] = []
    for record in records:
        label = truth.get(str(record.get("request_id")))
        output = record.get("output")
        if label is None or not isinstance(output, Mapping) or record.get("kind") == "shadow":
            continue
        predictions, probabilities = predictions_of(output, config)
        labels = label if isinstance(label, list) else [label]
        where = f"inference id {record.get('request_id')}"
        if not predictions:
            joined.problem(f"{where}: its captured answer holds no prediction")
            continue
        if len(labels) != len(predictions):
            given_as = f"a list of {len(labels)}" if isinstance(label, list) else "one label"
            joined.problem(
                f"{where}: {given_as} for a request that scored {len(predictions)} rows "
                f"(give a list of {len(predictions)} labels, one per row)"
            )
            continue
        for row, (prediction, given, value) in enumerate(
            zip(predictions, probabilities, labels, strict=True)
        ):
            if prediction is None:
                joined.problem(f"{where}: row {row} of its answer holds no prediction")
                continue
            score = given
            binary = config.problem_type is ProblemType.BINARY
            if score is None and binary and isinstance(prediction, float) and 0 <= prediction <= 1:
                score = prediction  # a binary model that answers its positive-class probability
            joined.predictions.append(_label_for(config.problem_type, prediction))
            joined.labels.append(value)
            scores.append(score)
    if scores and all(s is not None for s in scores):
        joined.probabilities = [float(s) for s in scores if s is not None]
    return joined


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The core's metrics as ``name -> number``: SageMaker nests them
    (``{"binary_classification_metrics": {"accuracy": {"value": 0.9}}}``); a leaf's name is
    its key, and ``{"value": x}`` stands for x. Non-numbers (a confusion matrix) are left out,
    and so are the document's ``version`` and ``dataset`` (its ``item_count``): no metrics."""
    flat: dict[str, float] = {}

    def walk(node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                if math.isfinite(float(value)):
                    flat[str(key)] = float(value)
            elif isinstance(value, Mapping):
                inner = value.get("value")
                if isinstance(inner, int | float) and not isinstance(inner, bool):
                    if math.isfinite(float(inner)):
                        flat[str(key)] = float(inner)
                elif key != "confusion_matrix":
                    walk(value)

    walk({k: v for k, v in metrics.items() if k not in ("version", "dataset")})
    return flat


def breaches(
    metrics: Mapping[str, float], thresholds: Mapping[str, Threshold]
) -> list[dict[str, Any]]:
    """A violation per metric outside its bounds, in SageMaker's model-quality shape; a
    threshold on a metric the problem type has no value for is a violation too (it cannot be
    checked)."""
    found: list[dict[str, Any]] = []
    for name, bounds in sorted(thresholds.items()):
        value = metrics.get(name)
        if value is None:
            found.append(
                {
                    "metric_name": name,
                    "constraint_check_type": "missing_metric",
                    "description": f"Metric {name} has no value: nothing to compare",
                }
            )
            continue
        if bounds.min is not None and value < bounds.min:
            kind, limit = "LessThanThreshold", bounds.min
        elif bounds.max is not None and value > bounds.max:
            kind, limit = "GreaterThanThreshold", bounds.max
        else:
            continue
        found.append(
            {
                "metric_name": name,
                "constraint_check_type": kind,
                "description": f"Metric {name} with {value:.6g} was {kind} '{limit:.6g}'",
            }
        )
    return found
