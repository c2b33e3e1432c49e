"""Experiment tracking: experiments, runs, params, metrics with history, tags, datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.tracking._entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunInfo,
    RunStatus,
    ViewType,
)
from dockyard.tracking._requests import (
    LIMITS,
    CountRuns,
    CreateExperiment,
    CreateRun,
    LogBatch,
    LogInputs,
    MetricIn,
    ParamIn,
    SearchRuns,
    TagIn,
    UpdateExperiment,
    UpdateRun,
    validate_key,
)

if TYPE_CHECKING:
    from dockyard.tracking._service import (
        PARENT_RUN_TAG,
        RUN_NAME_TAG,
        Page,
        TrackingService,
        now_ms,
    )

__all__ = [
    "LIMITS",
    "PARENT_RUN_TAG",
    "RUN_NAME_TAG",
    "CountRuns",
    "CreateExperiment",
    "CreateRun",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "LogBatch",
    "LogInputs",
    "Metric",
    "MetricIn",
    "Page",
    "ParamIn",
    "Run",
    "RunInfo",
    "RunStatus",
    "SearchRuns",
    "TagIn",
    "TrackingService",
    "UpdateExperiment",
    "UpdateRun",
    "ViewType",
    "now_ms",
    "validate_key",
]


_LAZY = {"PARENT_RUN_TAG", "RUN_NAME_TAG", "Page", "TrackingService", "now_ms"}


def __getattr__(name: str) -> Any:
    # The service pulls in SQLAlchemy; SDK users who only need the entities never pay for it.
    if name in _LAZY:
        from dockyard.tracking import _service

        return getattr(_service, name)
    raise AttributeError(f"module 'dockyard.tracking' has no attribute {name!r}")
