from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.monitor import (
    Baseline,
    BaselineOptions,
    Dataset,
    read_baseline,
    suggest_baseline,
    write_baseline,
)

from .conftest import frame, write_csv

# The keys of SageMaker Model Monitor's documents (its developer guide's schemas).
_NUMERICAL = {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
_MONITORING_CONFIG = {
    "evaluate_constraints",
    "emit_metrics",
    "datatype_check_threshold",
    "domain_content_threshold",
    "distribution_constraints",
}


def test_statistics_have_sagemakers_fields_and_exact_moments(baseline_csv: Path) -> None:
    found = suggest_baseline(Dataset((str(baseline_csv),)))
    stats = found.statistics
    assert stats["dataset"] == {"item_count": 5000}
    features = {f["name"]: f for f in stats["features"]}
    assert {n: f["inferred_type"] for n, f in features.items()} == {
        "x": "Fractional",
        "y": "Fractional",
        "n": "Integral",
        "c": "String",
        "d": "String",
    }
    x = features["x"]["numerical_statistics"]
    assert set(x) == _NUMERICAL
    assert x["common"] == {"num_present": 5000, "num_missing": 0}
    data = frame(np.random.default_rng(7), 5000)["x"]
    assert x["mean"] == pytest.approx(data.mean())
    assert x["std_dev"] == pytest.approx(data.std())
    assert x["sum"] == pytest.approx(data.sum())
    assert (x["min"], x["max"]) == (data.min(), data.max())
    kll = x["distribution"]["kll"]
    assert len(kll["buckets"]) == 10
    assert set(kll["buckets"][0]) == {"lower_bound", "upper_bound", "count"}
    assert sum(b["count"] for b in kll["buckets"]) == pytest.approx(5000)
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    c = features["c"]["string_statistics"]
    assert c["distinct_count"] == 3
    buckets = c["distribution"]["categorical"]["buckets"]
    assert [b["value"] for b in buckets] == ["a", "b", "c"]
    assert sum(b["count"] for b in buckets) == 5000


def test_constraints_are_sagemakers_suggestions(baseline: Baseline) -> None:
    constraints = baseline.constraints
    features = {f["name"]: f for f in constraints["features"]}
    assert features["n"]["num_constraints"] == {"is_non_negative": True}
    assert features["x"]["num_constraints"] == {"is_non_negative": False}
    assert features["c"]["string_constraints"] == {"domains": ["a", "b", "c"]}
    assert features["x"]["completeness"] == 1.0
    config = constraints["monitoring_config"]
    assert set(config) == _MONITORING_CONFIG
    assert config["distribution_constraints"]["comparison_threshold"] == 0.1
    assert config["distribution_constraints"]["perform_comparison"] == "Enabled"


def test_missing_values_count_against_completeness(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("a,b\n1,x\n,y\n3,\n4,z\n")
    found = suggest_baseline(Dataset((str(path),)))
    features = {f["name"]: f for f in found.constraints["features"]}
    assert features["a"]["completeness"] == 0.75
    assert features["b"]["completeness"] == 0.75
    stats = {f["name"]: f for f in found.statistics["features"]}
    assert stats["a"]["numerical_statistics"]["common"] == {"num_present": 3, "num_missing": 1}


def test_high_cardinality_strings_get_no_domain_and_a_bounded_top_k(tmp_path: Path) -> None:
    values = [f"user{i % 500}" for i in range(5000)]
    path = write_csv(tmp_path / "ids.csv", {"id": values})
    # All text: a header cannot be sniffed, so it is declared.
    data = Dataset((str(path),), header=True)
    found = suggest_baseline(data, BaselineOptions(categorical_top_k=10))
    feature = found.constraints["features"][0]
    assert "string_constraints" not in feature
    stats = found.statistics["features"][0]["string_statistics"]
    assert stats["distinct_count"] == 500
    assert len(stats["distribution"]["categorical"]["buckets"]) == 10


def test_write_then_read_round_trips(tmp_path: Path, baseline: Baseline) -> None:
    write_baseline(baseline, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "constraints.json",
        "statistics.json",
    ]
    again = read_baseline(tmp_path / "out")
    assert again == baseline


def _write(folder: Path, baseline: Baseline, **documents: Any) -> Path:
    write_baseline(baseline, folder)
    for name, document in documents.items():
        text = document if isinstance(document, str) else json.dumps(document)
        (folder / f"{name}.json").write_text(text)
    return folder


def _broken(baseline: Baseline, path: str, value: Any) -> dict[str, Any]:
    document = json.loads(json.dumps(baseline.constraints))
    target = document
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("features.2.completeness", "high", "features.2.completeness"),
        ("features.0.inferred_type", "Decimal", "features.0.inferred_type"),
        (
            "features.3.string_constraints",
            {"domains": "a"},
            "features.3.string_constraints.domains",
        ),
        (
            "monitoring_config.distribution_constraints",
            {"comparison_threshold": "x"},
            "monitoring_config.distribution_constraints.comparison_threshold",
        ),
        ("features", {}, "features"),
    ],
)
def test_bad_constraints_name_file_and_field(
    tmp_path: Path, baseline: Baseline, path: str, value: Any, field: str
) -> None:
    folder = _write(tmp_path, baseline, constraints=_broken(baseline, path, value))
    with pytest.raises(InvalidArgument) as caught:
        read_baseline(folder)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{folder}/constraints.json: {field} must be")


def test_bad_statistics_and_bad_json_are_named(tmp_path: Path, baseline: Baseline) -> None:
    stats = json.loads(json.dumps(baseline.statistics))
    stats["features"][0]["numerical_statistics"]["common"]["num_present"] = None
    folder = _write(tmp_path / "a", baseline, statistics=stats)
    with pytest.raises(InvalidArgument) as caught:
        read_baseline(folder)
    assert caught.value.field == "features.0.numerical_statistics.common.num_present"
    folder = _write(tmp_path / "b", baseline, statistics='{"features": [')
    with pytest.raises(InvalidArgument, match=r"statistics.json: not JSON \(line 1"):
        read_baseline(folder)
    with pytest.raises(NotFound, match=r"statistics\.json: no such file"):
        read_baseline(tmp_path / "nowhere")


def test_an_empty_dataset_has_no_baseline(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b\n")
    with pytest.raises(InvalidArgument, match="no rows"):
        suggest_baseline(Dataset((str(path),), header=True))
