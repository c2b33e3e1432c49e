from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from dockyard.errors import InvalidArgument
from dockyard.monitor import (
    Baseline,
    CheckOptions,
    Dataset,
    check,
    suggest_baseline,
    write_check,
)

from .conftest import frame, write_csv

_TYPES = {
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
}


def _check(tmp_path: Path, baseline: Baseline, columns: dict[str, Any], **options: Any) -> Any:
    path = write_csv(tmp_path / "current.csv", columns)
    return check(Dataset((str(path),), header=True), baseline, CheckOptions(**options))


def _kinds(result: Any) -> set[tuple[str, str]]:
    return {
        (v["feature_name"], v["constraint_check_type"]) for v in result.violations["violations"]
    }


def test_clean_data_has_no_violation(tmp_path: Path, baseline: Baseline) -> None:
    result = _check(tmp_path, baseline, frame(np.random.default_rng(99), 3000))
    assert result.violations == {"violations": []}
    assert result.rows == 3000
    assert {d.feature for d in result.drift} == {"x", "y", "n", "c", "d"}
    assert not any(d.drifted for d in result.drift)


def _planted(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    columns = frame(rng, 3000)
    if kind == "data_type_check":
        n = columns["n"].astype(object)
        n[10] = "many"
        columns["n"] = pa.array([str(v) for v in n], pa.string())
    elif kind == "completeness_check":
        y = columns["y"].copy()
        y[::10] = np.nan
        columns["y"] = pa.array(y, from_pandas=True)
    elif kind == "baseline_drift_check":
        columns["x"] = columns["x"] + 1.0
    elif kind == "missing_column_check":
        del columns["d"]
    elif kind == "extra_column_check":
        columns["extra"] = rng.normal(size=3000)
    elif kind == "categorical_values_check":
        d = columns["d"].to_pylist()
        d[5] = "w"
        columns["d"] = pa.array(d, pa.string())
    return columns


@pytest.mark.parametrize(
    ("kind", "feature"),
    [
        ("data_type_check", "n"),
        ("completeness_check", "y"),
        ("baseline_drift_check", "x"),
        ("missing_column_check", "d"),
        ("extra_column_check", "extra"),
        ("categorical_values_check", "d"),
    ],
)
def test_each_violation_type_is_found_where_planted(
    tmp_path: Path, baseline: Baseline, kind: str, feature: str
) -> None:
    result = _check(tmp_path, baseline, _planted(kind, np.random.default_rng(3)))
    assert _kinds(result) == {(feature, kind)}
    (violation,) = result.violations["violations"]
    assert set(violation) == {"feature_name", "constraint_check_type", "description"}
    assert violation["constraint_check_type"] in _TYPES


def test_descriptions_read_like_sagemakers(tmp_path: Path, baseline: Baseline) -> None:
    columns = _planted("data_type_check", np.random.default_rng(3))
    (violation,) = _check(tmp_path, baseline, columns).violations["violations"]
    assert violation["description"] == (
        "Data type match requirement is not met. Expected data type: Integral, Expected match: "
        "100.0%. Observed: Only 99.97% of data is Integral."
    )
    columns = _planted("baseline_drift_check", np.random.default_rng(3))
    (violation,) = _check(tmp_path, baseline, columns).violations["violations"]
    assert violation["description"].startswith("Baseline drift distance: 0.")
    assert violation["description"].endswith("exceeds threshold: 0.1")


def test_edited_constraints_are_obeyed(tmp_path: Path, baseline: Baseline) -> None:
    constraints = json.loads(json.dumps(baseline.constraints))
    config = constraints["monitoring_config"]
    config["domain_content_threshold"] = 0.99  # a few unknown values are fine
    for feature in constraints["features"]:
        if feature["name"] == "x":  # this feature may drift
            feature["monitoringConfigOverrides"] = {
                "distribution_constraints": {"perform_comparison": "Disabled"}
            }
    edited = Baseline(baseline.statistics, constraints)
    columns = frame(np.random.default_rng(3), 3000)
    columns["x"] = columns["x"] + 1.0
    d = columns["d"].to_pylist()
    d[5] = "w"
    columns["d"] = pa.array(d, pa.string())
    result = _check(tmp_path, edited, columns)
    assert result.violations == {"violations": []}
    assert next(r for r in result.drift if r.feature == "x").drifted


def test_summary_and_files(tmp_path: Path, baseline: Baseline) -> None:
    columns = _planted("baseline_drift_check", np.random.default_rng(3))
    result = _check(tmp_path, baseline, columns)
    summary = result.to_summary()
    assert summary["rows"] == 3000
    assert summary["violations"] == 1
    assert summary["violations_by_type"] == {"baseline_drift_check": 1}
    assert [d["feature"] for d in summary["drifted_features"]] == ["x"]
    json.dumps(summary)
    write_check(result, baseline, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["constraint_violations.json", "drift.json", "report.html", "statistics.json"]
    written = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())
    assert written == result.violations
    drift = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert {f["feature"] for f in drift["features"]} == {"x", "y", "n", "c", "d"}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"drift_metric": "hellinger"}, "drift_metric"),
        ({"thresholds": {"psi": -1}}, "thresholds.psi"),
        ({"thresholds": {"nope": 1}}, "thresholds.nope"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        CheckOptions(**options)
    assert caught.value.field == field


def test_numeric_codes_of_a_string_feature_are_checked_as_categories(tmp_path: Path) -> None:
    base = write_csv(tmp_path / "b.csv", {"code": ["1", "2", "x"] * 100})
    baseline = suggest_baseline(Dataset((str(base),), header=True))
    # No "x" today: the CSV parser reads the column as integers.
    result = _check(tmp_path, baseline, {"code": pa.array([1, 2, 3] * 100)})
    assert _kinds(result) == {
        ("code", "categorical_values_check"),
        ("code", "baseline_drift_check"),
    }
    assert "'3'" in result.violations["violations"][0]["description"]


def test_chi_squared_categorical_method_and_linf_spellings(
    tmp_path: Path, baseline: Baseline
) -> None:
    constraints = json.loads(json.dumps(baseline.constraints))
    distribution = constraints["monitoring_config"]["distribution_constraints"]
    distribution["categorical_drift_method"] = "ChiSquared"
    distribution["categorical_comparison_threshold"] = 0.01
    distribution["comparison_method"] = "linf_simple"
    edited = Baseline(baseline.statistics, constraints)
    result = _check(tmp_path, edited, frame(np.random.default_rng(3), 3000, swap=1))
    c = next(d for d in result.drift if d.feature == "c")
    assert (c.metric, c.threshold, c.drifted) == ("chi_square", 0.01, True)
    assert c.chi_square_p is not None and c.value == c.chi_square_p < 0.01
    assert "chi-square p-value" in next(
        v["description"] for v in result.violations["violations"] if v["feature_name"] == "c"
    )
    clean = _check(tmp_path, edited, frame(np.random.default_rng(4), 3000))
    assert not [d.feature for d in clean.drift if d.drifted]
