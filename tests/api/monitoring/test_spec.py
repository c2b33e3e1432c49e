"""The schedule spec refuses what cannot be a schedule, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dockyard.api.monitoring import (
    MonitoringScheduleSpec,
    RunMonitoringSchedule,
    UpdateMonitoringSchedule,
)
from dockyard.errors import invalid_from_validation

GOOD: dict[str, Any] = {
    "name": "churn-drift",
    "target": {"endpoint": "churn"},
    "baseline": {"uri": "s3://lake/baselines/churn"},
}


def _error(model: Any, body: dict[str, Any]) -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    error = invalid_from_validation(caught.value.errors())
    return error.field, error.message


def test_a_minimal_spec_takes_the_documented_defaults() -> None:
    spec = MonitoringScheduleSpec.model_validate(GOOD)
    assert spec.is_hourly and spec.timezone == "UTC" and spec.enabled
    assert spec.data.capture_side == "input" and spec.check.options() == {}
    assert spec.model_quality is None
    cron = MonitoringScheduleSpec.model_validate(GOOD | {"schedule": " 0 */6 * * * "})
    assert cron.schedule == "0 */6 * * *" and not cron.is_hourly
    assert MonitoringScheduleSpec.model_validate(GOOD | {"schedule": "@daily"}).schedule == "@daily"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "bad name"}, "name", "pattern"),
        ({"target": {}}, "target", "exactly one of endpoint or transform_job"),
        (
            {"target": {"endpoint": "e", "transform_job": "t"}},
            "target",
            "exactly one of endpoint or transform_job",
        ),
        ({"target": {"transform_job": "t", "variant": "v"}}, "target", "endpoint target only"),
        ({"target": {"transform_job": "t", "side": "both"}}, "target.side", "'input' or 'output'"),
        ({"baseline": {}}, "baseline", "either uri or suggest_from"),
        ({"baseline": {"uri": "x", "suggest_from": {"dataset_uri": "y"}}}, "baseline", "either"),
        ({"baseline": {"suggest_from": {}}}, "baseline.suggest_from", "exactly one of"),
        (
            {"baseline": {"suggest_from": {"dataset_uri": "y", "dataset": "training"}}},
            "baseline.suggest_from",
            "give run_id too",
        ),
        ({"schedule": "every hour"}, "schedule", "a cron expression of 5 fields"),
        ({"schedule": "@often"}, "schedule", "known macros"),
        ({"data": {"capture_side": "left"}}, "data.capture_side", "'input', 'output' or 'both'"),
        ({"check": {"thresholds": {"psi": "high"}}}, "check.thresholds.psi", "number"),
        ({"model_quality": {}}, "model_quality.problem_type", "required"),
        (
            {"model_quality": {"problem_type": "ranking"}},
            "model_quality.problem_type",
            "regression",
        ),
        (
            {"model_quality": {"problem_type": "binary", "thresholds": {"accuracy": {}}}},
            "model_quality.thresholds.accuracy",
            "give min, max or both",
        ),
        (
            {
                "model_quality": {
                    "problem_type": "regression",
                    "thresholds": {"rmse": {"min": 3, "max": 1}},
                }
            },
            "model_quality.thresholds.rmse",
            "min is above max",
        ),
        ({"surprise": 1}, "surprise", "unknown field"),
    ],
)
def test_bad_specs_name_the_field(change: dict[str, Any], field: str, message: str) -> None:
    got_field, got_message = _error(MonitoringScheduleSpec, GOOD | change)
    assert got_field == field
    assert message in got_message


def test_updates_and_windows_are_checked_too() -> None:
    assert _error(UpdateMonitoringSchedule, {"schedule": "nope"})[0] == "schedule"
    assert UpdateMonitoringSchedule.model_validate({"enabled": False}).schedule is None
    assert _error(RunMonitoringSchedule, {"start": 5}) == (
        "end",
        "end: give both start and end, or neither",
    )
    assert _error(RunMonitoringSchedule, {"start": 5, "end": 5}) == (
        "end",
        "end: must be after start",
    )
    assert _error(RunMonitoringSchedule, {"start": -1, "end": 5})[0] == "start"
