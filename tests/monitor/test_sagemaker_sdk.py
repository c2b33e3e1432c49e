"""The documents load in the SageMaker Python SDK and answer what its example notebooks ask of
them: the statistics' features as a table, constraints switched per feature, violations by
feature and check type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dockyard.monitor import Baseline, Dataset, check, write_baseline, write_check

from .conftest import frame, write_csv


def test_the_sagemaker_sdk_reads_what_a_check_writes(
    tmp_path: Path, baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker.model_monitor import Constraints, ConstraintViolations, Statistics

    write_baseline(baseline, tmp_path / "baseline")
    drifted = write_csv(tmp_path / "now.csv", frame(np.random.default_rng(1), 2000, mean=3.0))
    write_check(check(Dataset((str(drifted),)), baseline), baseline, tmp_path / "check")

    def body(path: Path) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(path.read_text())
        return loaded

    statistics = Statistics(body(tmp_path / "baseline" / "statistics.json"), "s3://b/s.json")
    table = pd.json_normalize(statistics.body_dict["features"])  # as the notebooks show them
    assert {"name", "inferred_type", "numerical_statistics.mean"} <= set(table.columns)
    names = set(table["name"])
    constraints = Constraints(body(tmp_path / "baseline" / "constraints.json"), "s3://b/c.json")
    for name in names:
        constraints.set_monitoring(False, feature_name=name)
    constraints.set_monitoring(True)
    features = constraints.body_dict["features"]
    assert {f["name"] for f in features} == names
    assert all(
        f["monitoring_config_overrides"]["evaluate_constraints"] == "Disabled" for f in features
    )
    assert constraints.body_dict["monitoring_config"]["evaluate_constraints"] == "Enabled"
    violations = ConstraintViolations(
        body(tmp_path / "check" / "constraint_violations.json"), "s3://b/v.json"
    )
    found = pd.json_normalize(violations.body_dict["violations"])
    assert list(found.columns) == ["feature_name", "constraint_check_type", "description"]
    assert ("x", "baseline_drift_check") in set(
        zip(found["feature_name"], found["constraint_check_type"], strict=True)
    )
