"""The Python SDK: the client, and the notebook-style tracking API re-exported by ``dockyard``.

Names load with the module that defines them, on first use: the CLI talks to a server through
:class:`Client` alone, and importing every part of the SDK (request models, the endpoint spec,
progress bars) would more than double its start-up time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.client import Client
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
    from dockyard.sdk._notifications import (
        create_topic,
        delete_subscription,
        list_deliveries,
        list_subscriptions,
        publish,
        replay_deliveries,
        subscribe,
    )
    from dockyard.sdk._params import (
        delete_parameter,
        get_parameter,
        get_parameter_history,
        get_parameters_by_path,
        label_parameter_version,
        put_parameter,
    )
    from dockyard.sdk._serializers import (
        CSVSerializer,
        JSONDeserializer,
        JSONSerializer,
        NumpyDeserializer,
    )
    from dockyard.sdk._transform import Transformer, TransformJob

_MODULES: dict[str, str] = {
    "create_topic": "dockyard.sdk._notifications",
    "delete_subscription": "dockyard.sdk._notifications",
    "list_deliveries": "dockyard.sdk._notifications",
    "list_subscriptions": "dockyard.sdk._notifications",
    "publish": "dockyard.sdk._notifications",
    "replay_deliveries": "dockyard.sdk._notifications",
    "subscribe": "dockyard.sdk._notifications",
    "ActiveRun": "dockyard.sdk._fluent",
    "CSVSerializer": "dockyard.sdk._serializers",
    "Client": "dockyard.client",
    "EndpointHandle": "dockyard.sdk._endpoints",
    "Estimator": "dockyard.sdk._jobs",
    "JSONDeserializer": "dockyard.sdk._serializers",
    "JSONSerializer": "dockyard.sdk._serializers",
    "LoggedModel": "dockyard.sdk._models",
    "NumpyDeserializer": "dockyard.sdk._serializers",
    "Predictor": "dockyard.sdk._endpoints",
    "TrainingJob": "dockyard.sdk._jobs",
    "TransformJob": "dockyard.sdk._transform",
    "Transformer": "dockyard.sdk._transform",
    "active_run": "dockyard.sdk._fluent",
    "connect": "dockyard.sdk._connect",
    "context": "dockyard.sdk._context",
    "delete_parameter": "dockyard.sdk._params",
    "deploy": "dockyard.sdk._endpoints",
    "download_artifacts": "dockyard.sdk._data",
    "download_model": "dockyard.sdk._models",
    "end_run": "dockyard.sdk._fluent",
    "get_parameter": "dockyard.sdk._params",
    "get_parameter_history": "dockyard.sdk._params",
    "get_parameters_by_path": "dockyard.sdk._params",
    "get_run": "dockyard.sdk._fluent",
    "label_parameter_version": "dockyard.sdk._params",
    "list_artifacts": "dockyard.sdk._data",
    "load_model": "dockyard.sdk._models",
    "log_artifact": "dockyard.sdk._data",
    "log_artifacts": "dockyard.sdk._data",
    "log_input": "dockyard.sdk._data",
    "log_metric": "dockyard.sdk._fluent",
    "log_metrics": "dockyard.sdk._fluent",
    "log_model": "dockyard.sdk._models",
    "log_param": "dockyard.sdk._fluent",
    "log_params": "dockyard.sdk._fluent",
    "put_parameter": "dockyard.sdk._params",
    "register_model": "dockyard.sdk._models",
    "reset_context": "dockyard.sdk._context",
    "runs_frame": "dockyard.sdk._data",
    "search_runs": "dockyard.sdk._data",
    "set_experiment": "dockyard.sdk._fluent",
    "set_tag": "dockyard.sdk._fluent",
    "set_tags": "dockyard.sdk._fluent",
    "start_run": "dockyard.sdk._fluent",
    "upload_data": "dockyard.sdk._jobs",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later reads skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "create_topic",
    "delete_parameter",
    "delete_subscription",
    "deploy",
    "download_artifacts",
    "download_model",
    "end_run",
    "get_parameter",
    "get_parameter_history",
    "get_parameters_by_path",
    "get_run",
    "label_parameter_version",
    "list_artifacts",
    "list_deliveries",
    "list_subscriptions",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "publish",
    "put_parameter",
    "register_model",
    "replay_deliveries",
    "reset_context",
    "runs_frame",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "subscribe",
    "upload_data",
]
