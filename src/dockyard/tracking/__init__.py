"""Experiment tracking: experiments, runs, params, metrics with history, tags, datasets, and
MLflow 3's logged models (models logged into an experiment, with params, tags, linked metrics
and files; :class:`LoggedModelService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.tracking._entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    LinkedMetric,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    ModelOutput,
    Run,
    RunInfo,
    RunStatus,
    ViewType,
)
from dockyard.tracking._requests import (
    LIMITS,
    LOGGED_MODEL_ID,
    CountRuns,
    CreateExperiment,
    CreateLoggedModel,
    CreateRun,
    DatasetFilter,
    LogBatch,
    LoggedModelOrder,
    LogInputs,
    LogOutputs,
    MetricIn,
    ParamIn,
    SearchLoggedModels,
    SearchRuns,
    TagIn,
    UpdateExperiment,
    UpdateRun,
    validate_key,
)
from dockyard.tracking._series import MetricSeries, SeriesAxis, SeriesWindow

if TYPE_CHECKING:
    from dockyard.tracking._logged_models import MODEL_VERSIONS_TAG, LoggedModelService
    from dockyard.tracking._service import (
        PARENT_RUN_TAG,
        RUN_NAME_TAG,
        Page,
        TrackingService,
        now_ms,
    )

__all__ = [
    "LIMITS",
    "LOGGED_MODEL_ID",
    "MODEL_VERSIONS_TAG",
    "PARENT_RUN_TAG",
    "RUN_NAME_TAG",
    "CountRuns",
    "CreateExperiment",
    "CreateLoggedModel",
    "CreateRun",
    "Dataset",
    "DatasetFilter",
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "LinkedMetric",
    "LogBatch",
    "LogInputs",
    "LogOutputs",
    "LoggedModel",
    "LoggedModelOrder",
    "LoggedModelService",
    "LoggedModelStatus",
    "Metric",
    "MetricIn",
    "MetricSeries",
    "ModelOutput",
    "Page",
    "ParamIn",
    "Run",
    "RunInfo",
    "RunStatus",
    "SearchLoggedModels",
    "SearchRuns",
    "SeriesAxis",
    "SeriesWindow",
    "TagIn",
    "TrackingService",
    "UpdateExperiment",
    "UpdateRun",
    "ViewType",
    "now_ms",
    "validate_key",
]


_LAZY = {"PARENT_RUN_TAG", "RUN_NAME_TAG", "Page", "TrackingService", "now_ms"}
_LAZY_MODELS = {"MODEL_VERSIONS_TAG", "LoggedModelService"}


def __getattr__(name: str) -> Any:
    # The services pull in SQLAlchemy; SDK users who only need the entities never pay for it.
    if name in _LAZY:
        from dockyard.tracking import _service

        return getattr(_service, name)
    if name in _LAZY_MODELS:
        from dockyard.tracking import _logged_models

        return getattr(_logged_models, name)
    raise AttributeError(f"module 'dockyard.tracking' has no attribute {name!r}")
