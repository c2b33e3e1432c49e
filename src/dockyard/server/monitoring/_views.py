"""Rows as the API returns them."""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.api.monitoring import (
    ExecutionStatus,
    MonitoringExecution,
    MonitoringSchedule,
    MonitoringScheduleSpec,
    ScheduleStatus,
)
from dockyard.server.monitoring._windows import check_time, window_end

__all__ = ["execution", "report_url", "schedule", "summary_of"]


def summary_of(row: Any) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(row.summary) if row.summary else {}
    return found


def report_url(schedule: str, execution_id: str) -> str:
    return f"/api/v1/monitoring-schedules/{schedule}/executions/{execution_id}/report"


def execution(row: Any, schedule: str, *, violations: bool = False) -> MonitoringExecution:
    summary = summary_of(row)
    report = summary.get("report")
    report_uri = f"{row.output_uri.rstrip('/')}/{report}" if report and row.output_uri else None
    return MonitoringExecution(
        execution_id=row.execution_id,
        schedule=schedule,
        kind=row.kind,
        trigger=row.trigger,
        window_start=row.window_start,
        window_end=row.window_end,
        status=ExecutionStatus(row.status),
        job=row.job,
        rows=summary.get("rows"),
        violation_count=row.violation_count,
        violations_by_type=summary.get("violations_by_type") or {},
        drifted_features=summary.get("drifted_features") or [],
        metrics=summary.get("metrics") or {},
        labelled_rows=summary.get("labelled_rows"),
        unmatched_labels=summary.get("unmatched") or 0,
        ground_truth_problems=summary.get("ground_truth_problems") or [],
        output_uri=row.output_uri,
        report_uri=report_uri,
        report_url=report_url(schedule, row.execution_id) if report_uri else None,
        failure_reason=row.failure_reason,
        created_time=row.created_time,
        end_time=row.end_time,
        violations=(orjson.loads(row.violations) if row.violations else []) if violations else None,
    )


def schedule(row: Any, last: Any | None) -> MonitoringSchedule:
    spec = MonitoringScheduleSpec.model_validate_json(row.spec)
    end = window_end(spec, row.next_window_start)
    return MonitoringSchedule(
        name=row.name,
        spec=spec,
        status=ScheduleStatus(row.status),
        baseline_uri=row.baseline_uri,
        baseline_job=row.baseline_job,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        next_window_start=row.next_window_start,
        next_window_end=end,
        next_check_time=check_time(spec, end),
        failure_reason=row.failure_reason,
        last_execution=execution(last, row.name) if last is not None else None,
        created_by=row.created_by,
        created_time=row.created_time,
        updated_time=row.updated_time,
    )
