"""Rows as the API returns them: a trial, the counts, the best trial."""

from __future__ import annotations

import builtins
from typing import Any

import orjson

from dockyard.api.tuning import (
    STOPPED_EARLY,
    ObjectiveType,
    Trial,
    TrialCounts,
    TrialStatus,
    TuningJob,
    TuningJobStatus,
)

__all__ = ["best_of", "counts", "trial", "tuning_job"]


def trial(row: Any) -> Trial:
    intermediate = orjson.loads(row.intermediate)
    return Trial(
        number=row.number,
        job=row.job,
        status=TrialStatus(row.status),
        hyperparameters=orjson.loads(row.params),
        objective=row.value,
        steps=len(intermediate),
        attempts=row.attempts,
        reason=row.reason,
        run_id=row.run_id,
        created_time=row.created_time,
        end_time=row.end_time,
    )


def counts(rows: builtins.list[Any]) -> TrialCounts:
    by: dict[str, int] = {}
    for row in rows:
        by[row.status] = by.get(row.status, 0) + 1
    retrying = sum(1 for r in rows if r.status == TrialStatus.PENDING and r.attempts > 1)
    return TrialCounts(
        completed=by.get(TrialStatus.COMPLETED, 0),
        in_progress=by.get(TrialStatus.IN_PROGRESS, 0) + by.get(TrialStatus.PENDING, 0) - retrying,
        failed=by.get(TrialStatus.FAILED, 0),
        stopped=by.get(TrialStatus.STOPPED, 0),
        stopped_early=sum(1 for r in rows if r.reason == STOPPED_EARLY),
        retried=sum(1 for r in rows if r.attempts > 1),
        retrying=retrying,
    )


def best_of(rows: builtins.list[Any], objective: ObjectiveType) -> Any | None:
    """The completed trial with the best objective (the earliest of equals)."""
    done = [r for r in rows if r.status == TrialStatus.COMPLETED and r.value is not None]
    if not done:
        return None
    sign = -1.0 if objective is ObjectiveType.MAXIMIZE else 1.0
    return min(done, key=lambda r: (sign * r.value, r.number))


def tuning_job(row: Any, rows: builtins.list[Any]) -> TuningJob:
    spec = orjson.loads(row.spec)
    objective = ObjectiveType(spec["config"]["objective"]["type"])
    best = best_of(rows, objective)
    return TuningJob(
        name=row.name,
        status=TuningJobStatus(row.status),
        spec=spec,
        run_id=row.run_id,
        experiment_id=row.experiment_id,
        created_time=row.created_time,
        end_time=row.end_time,
        created_by=row.created_by,
        failure_reason=row.failure_reason,
        completion_reason=row.completion_reason,
        counts=counts(rows),
        best_trial=trial(best) if best is not None else None,
    )
