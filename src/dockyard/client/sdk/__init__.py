"""The Python SDK: the client, and the notebook-style tracking API re-exported by ``dockyard``.

Names load with the module that defines them, on first use: the CLI talks to a server through
:class:`Client` alone, and importing every part of the SDK (request models, the endpoint spec,
progress bars) would more than double its start-up time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.client.http import Client
    from dockyard.client.sdk._connect import connect
    from dockyard.client.sdk._context import context, reset_context
    from dockyard.client.sdk._data import (
        download_artifacts,
        list_artifacts,
        log_artifact,
        log_artifacts,
        log_input,
        runs_frame,
        search_runs,
    )
    from dockyard.client.sdk._endpoints import EndpointHandle, Predictor, deploy
    from dockyard.client.sdk._fluent import (
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
    from dockyard.client.sdk._jobs import Estimator, TrainingJob, upload_data
    from dockyard.client.sdk._models import (
        LoggedModel,
        download_model,
        load_model,
        log_model,
        register_model,
    )
    from dockyard.client.sdk._notifications import (
        create_topic,
        delete_subscription,
        list_deliveries,
        list_subscriptions,
        publish,
        replay_deliveries,
        subscribe,
    )
    from dockyard.client.sdk._params import (
        delete_parameter,
        get_parameter,
        get_parameter_history,
        get_parameters_by_path,
        label_parameter_version,
        put_parameter,
    )
    from dockyard.client.sdk._sender import MetricSender
    from dockyard.client.sdk._serializers import (
        CSVSerializer,
        JSONDeserializer,
        JSONSerializer,
        NumpyDeserializer,
    )
    from dockyard.client.sdk._transform import Transformer, TransformJob
    from dockyard.client.sdk._upload import is_local, to_store

__all__ = [
    "ActiveRun",
    "CSVSerializer",
    "Client",
    "EndpointHandle",
    "Estimator",
    "JSONDeserializer",
    "JSONSerializer",
    "LoggedModel",
    "MetricSender",
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
    "is_local",
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
    "to_store",
    "upload_data",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Client": "dockyard.client.http",
        "ActiveRun": "._fluent",
        "CSVSerializer": "._serializers",
        "EndpointHandle": "._endpoints",
        "Estimator": "._jobs",
        "JSONDeserializer": "._serializers",
        "JSONSerializer": "._serializers",
        "LoggedModel": "._models",
        "MetricSender": "._sender",
        "NumpyDeserializer": "._serializers",
        "Predictor": "._endpoints",
        "TrainingJob": "._jobs",
        "TransformJob": "._transform",
        "Transformer": "._transform",
        "active_run": "._fluent",
        "connect": "._connect",
        "context": "._context",
        "create_topic": "._notifications",
        "delete_parameter": "._params",
        "delete_subscription": "._notifications",
        "deploy": "._endpoints",
        "download_artifacts": "._data",
        "download_model": "._models",
        "end_run": "._fluent",
        "get_parameter": "._params",
        "get_parameter_history": "._params",
        "get_parameters_by_path": "._params",
        "get_run": "._fluent",
        "is_local": "._upload",
        "label_parameter_version": "._params",
        "list_artifacts": "._data",
        "list_deliveries": "._notifications",
        "list_subscriptions": "._notifications",
        "load_model": "._models",
        "log_artifact": "._data",
        "log_artifacts": "._data",
        "log_input": "._data",
        "log_metric": "._fluent",
        "log_metrics": "._fluent",
        "log_model": "._models",
        "log_param": "._fluent",
        "log_params": "._fluent",
        "publish": "._notifications",
        "put_parameter": "._params",
        "register_model": "._models",
        "replay_deliveries": "._notifications",
        "reset_context": "._context",
        "runs_frame": "._data",
        "search_runs": "._data",
        "set_experiment": "._fluent",
        "set_tag": "._fluent",
        "set_tags": "._fluent",
        "start_run": "._fluent",
        "subscribe": "._notifications",
        "to_store": "._upload",
        "upload_data": "._jobs",
    },
)
