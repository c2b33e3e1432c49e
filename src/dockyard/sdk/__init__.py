"""The Python SDK: the client, and the notebook-style tracking API re-exported by ``dockyard``."""

from __future__ import annotations

from dockyard.sdk._client import Client
from dockyard.sdk._connect import connect
from dockyard.sdk._context import context, reset_context
from dockyard.sdk._data import (
    download_artifacts,
    list_artifacts,
    log_artifact,
    log_artifacts,
    log_input,
    runs_frame,
    search_runs,
)
from dockyard.sdk._endpoints import EndpointHandle, Predictor, deploy
from dockyard.sdk._fluent import (
    ActiveRun,
    active_run,
    end_run,
    get_run,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_experiment,
    set_tag,
    set_tags,
    start_run,
)
from dockyard.sdk._jobs import Estimator, TrainingJob, upload_data
from dockyard.sdk._models import (
    LoggedModel,
    download_model,
    load_model,
    log_model,
    register_model,
)
from dockyard.sdk._serializers import (
    CSVSerializer,
    JSONDeserializer,
    JSONSerializer,
    NumpyDeserializer,
)
from dockyard.sdk._transform import Transformer, TransformJob

__all__ = [
    "ActiveRun",
    "CSVSerializer",
    "Client",
    "EndpointHandle",
    "Estimator",
    "JSONDeserializer",
    "JSONSerializer",
    "LoggedModel",
    "NumpyDeserializer",
    "Predictor",
    "TrainingJob",
    "TransformJob",
    "Transformer",
    "active_run",
    "connect",
    "context",
    "deploy",
    "download_artifacts",
    "download_model",
    "end_run",
    "get_run",
    "list_artifacts",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "reset_context",
    "runs_frame",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "upload_data",
]
