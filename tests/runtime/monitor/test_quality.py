"""Captured answers joined with ground truth: every answer shape the endpoints speak, and the
thresholds turned into SageMaker's model-quality violations."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.monitoring import ModelQualityConfig, Threshold
from dockyard.runtime.monitor._quality import breaches, flatten_metrics, join, predictions_of

BINARY = ModelQualityConfig(problem_type="binary")  # type: ignore[arg-type]
REGRESSION = ModelQualityConfig(problem_type="regression")  # type: ignore[arg-type]


def _json(data: Any) -> dict[str, Any]:
    return {"content_type": "application/json", "encoding": "json", "data": data}


@pytest.mark.parametrize(
    ("output", "predictions"),
    [
        (_json({"predictions": [1, 0]}), [1, 0]),
        (_json([0.5, 2.5]), [0.5, 2.5]),
        (_json(3.0), [3.0]),
        (
            _json({"outputs": [{"name": "y", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}),
            [1, 2],
        ),
        (_json({"predictions": [{"predicted_label": 1, "score": 0.9}]}), [1]),
        (_json({"predictions": [[4.0, 0.1]]}), [4.0]),
        ({"content_type": "text/csv", "encoding": "text", "data": "1\n0\n"}, [1, 0]),
        ({"content_type": "text/csv", "encoding": "text", "data": "7,0.3\n"}, [7]),
        ({"encoding": "base64", "data": "AAA="}, []),
    ],
)
def test_predictions_are_read_from_every_answer_shape(
    output: dict[str, Any], predictions: list[Any]
) -> None:
    assert predictions_of(output, REGRESSION)[0] == predictions


def test_named_fields_pick_the_prediction_and_its_probability() -> None:
    config = ModelQualityConfig.model_validate(
        {"problem_type": "binary", "prediction_field": "cls", "probability_field": "p"}
    )
    found = predictions_of(
        _json({"predictions": [{"cls": 1, "p": 0.8}, {"cls": 0, "p": 0.1}]}), config
    )
    assert found == ([1, 0], [0.8, 0.1])


def _record(request_id: str, data: Any, kind: str = "production") -> dict[str, Any]:
    return {"request_id": request_id, "kind": kind, "output": _json(data)}


def test_labels_join_by_inference_id_row_by_row() -> None:
    records = [
        _record("r1", {"predictions": [0.9]}),
        _record("r2", {"predictions": [0.2, 0.7]}),
        _record("r3", {"predictions": [0.4]}),  # no label yet
        _record("r4", {"predictions": [0.6]}, kind="shadow"),  # never scored
        _record("r5", {"predictions": [0.1, 0.2]}),  # a label for one row of two: unmatched
    ]
    truth = {"r1": 1, "r2": [0, 1], "r4": 1, "r5": 0}
    joined = join(records, truth, BINARY)
    assert joined.predictions == [1, 0, 1]
    assert joined.labels == [1, 0, 1]
    assert joined.probabilities == [0.9, 0.2, 0.7]  # a binary score is its probability
    assert joined.unmatched == 1
    assert joined.problems == [
        "inference id r5: one label for a request that scored 2 rows (give a list of 2 labels, "
        "one per row)"
    ]


def test_every_unjoined_label_is_named_up_to_a_cap() -> None:
    from dockyard.runtime.monitor._quality import MAX_PROBLEMS

    records = [_record(f"r{i}", {"predictions": [0.1] * 5}) for i in range(MAX_PROBLEMS + 3)]
    records.append(_record("empty", {"predictions": []}))
    truth = {f"r{i}": 1 for i in range(MAX_PROBLEMS + 3)} | {"r0": [1, 0], "empty": 1}
    joined = join(records, truth, BINARY)
    assert joined.unmatched == MAX_PROBLEMS + 4 and len(joined.problems) == MAX_PROBLEMS
    assert joined.problems[0].startswith("inference id r0: a list of 2 for a request that scored 5")
    assert joined.problems[1].startswith("inference id r1: one label for a request that scored 5")


def test_metrics_flatten_from_sagemakers_nesting() -> None:
    metrics = {
        "binary_classification_metrics": {
            "accuracy": {"value": 0.75, "standard_deviation": 0.01},
            "auc": {"value": float("nan")},
            "confusion_matrix": {"0": {"0": 3, "1": 1}},
        },
        "rows": 4,
        "flag": True,
        "version": 0.0,  # the document's, as model_quality writes it: not metrics
        "dataset": {"item_count": 150},
    }
    assert flatten_metrics(metrics) == {"accuracy": 0.75, "rows": 4.0}


def test_thresholds_breached_become_violations() -> None:
    thresholds = {
        "accuracy": Threshold(min=0.8),
        "rmse": Threshold(max=1.0),
        "f1": Threshold(min=0.1, max=0.9),
        "auc": Threshold(min=0.5),
    }
    found = breaches({"accuracy": 0.75, "rmse": 0.5, "f1": 0.95}, thresholds)
    by_metric = {v["metric_name"]: v for v in found}
    assert sorted(by_metric) == ["accuracy", "auc", "f1"]
    assert by_metric["accuracy"]["constraint_check_type"] == "LessThanThreshold"
    assert (
        by_metric["accuracy"]["description"]
        == "Metric accuracy with 0.75 was LessThanThreshold '0.8'"
    )
    assert by_metric["f1"]["constraint_check_type"] == "GreaterThanThreshold"
    assert by_metric["auc"]["constraint_check_type"] == "missing_metric"
