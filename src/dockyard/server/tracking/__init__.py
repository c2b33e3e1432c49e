"""Experiment tracking: experiments, runs, params, metrics with history, tags, datasets, and
MLflow 3's logged models (models logged into an experiment, with params, tags, linked metrics
and files; :class:`LoggedModelService`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.tracking._logged_models import MODEL_VERSIONS_TAG, LoggedModelService
    from dockyard.server.tracking._search import (
        MODEL_VERSIONS,
        REGISTERED_MODELS,
        Condition,
        binary,
        compare,
        parse_filter,
        parse_order_by,
    )
    from dockyard.server.tracking._series import MetricSeries, SeriesAxis, SeriesWindow
    from dockyard.server.tracking._service import (
        PARENT_RUN_TAG,
        RUN_NAME_TAG,
        HistoryPoint,
        Page,
        TrackingService,
        decode_page_token,
        encode_page_token,
        now_ms,
    )

__all__ = [
    "MODEL_VERSIONS",
    "MODEL_VERSIONS_TAG",
    "PARENT_RUN_TAG",
    "REGISTERED_MODELS",
    "RUN_NAME_TAG",
    "Condition",
    "HistoryPoint",
    "LoggedModelService",
    "MetricSeries",
    "Page",
    "SeriesAxis",
    "SeriesWindow",
    "TrackingService",
    "binary",
    "compare",
    "decode_page_token",
    "encode_page_token",
    "now_ms",
    "parse_filter",
    "parse_order_by",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Condition": "._search",
        "HistoryPoint": "._service",
        "LoggedModelService": "._logged_models",
        "MODEL_VERSIONS": "._search",
        "MODEL_VERSIONS_TAG": "._logged_models",
        "MetricSeries": "._series",
        "PARENT_RUN_TAG": "._service",
        "Page": "._service",
        "REGISTERED_MODELS": "._search",
        "RUN_NAME_TAG": "._service",
        "SeriesAxis": "._series",
        "SeriesWindow": "._series",
        "TrackingService": "._service",
        "binary": "._search",
        "compare": "._search",
        "decode_page_token": "._service",
        "encode_page_token": "._service",
        "now_ms": "._service",
        "parse_filter": "._search",
        "parse_order_by": "._search",
    },
)
