"""Experiment tracking: experiments, runs, params, metrics with history, tags, datasets."""

from __future__ import annotations

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
