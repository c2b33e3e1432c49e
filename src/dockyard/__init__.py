"""Dockyard: take machine-learning models from prototype to production on infrastructure you own.

``import dockyard as dy``, then ``dy.set_experiment("demo")``, ``with dy.start_run(): ...``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from dockyard.errors import (  # light: no third-party imports
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    DockyardError,
    InUse,
    InvalidArgument,
    JobFailed,
    ModelError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.client.sdk import (
        ActiveRun,
        Client,
        CSVSerializer,
        EndpointHandle,
        Estimator,
        JSONDeserializer,
        JSONSerializer,
        LoggedModel,
        NumpyDeserializer,
        Predictor,
        TrainingJob,
        Transformer,
        TransformJob,
        active_run,
        create_topic,
        create_trigger,
        delete_parameter,
        delete_subscription,
        delete_trigger,
        deploy,
        download_artifacts,
        download_model,
        end_run,
        fire_trigger,
        get_parameter,
        get_parameter_history,
        get_parameters_by_path,
        get_run,
        get_trigger,
        label_parameter_version,
        list_artifacts,
        list_deliveries,
        list_subscriptions,
        list_triggers,
        load_model,
        log_artifact,
        log_artifacts,
        log_input,
        log_metric,
        log_metrics,
        log_model,
        log_param,
        log_params,
        publish,
        put_parameter,
        register_model,
        replay_deliveries,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
        subscribe,
        trigger_history,
        update_trigger,
        upload_data,
    )
    from dockyard.settings import Settings


def set_tracking_uri(uri: str | None) -> None:
    """Point the SDK at a server URL, or back at the embedded default with ``None``."""
    from dockyard.client.sdk import reset_context
    from dockyard.settings import Settings

    reset_context(Settings().model_copy(update={"uri": uri}))


__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "CSVSerializer",
    "Client",
    "Conflict",
    "DeadlineExceeded",
    "DockyardError",
    "EndpointHandle",
    "Estimator",
    "InUse",
    "InvalidArgument",
    "JSONDeserializer",
    "JSONSerializer",
    "JobFailed",
    "LoggedModel",
    "ModelError",
    "NotFound",
    "NumpyDeserializer",
    "PayloadTooLarge",
    "PermissionDenied",
    "Predictor",
    "Settings",
    "TrainingJob",
    "TransformJob",
    "Transformer",
    "Unauthenticated",
    "Unavailable",
    "__version__",
    "active_run",
    "create_topic",
    "create_trigger",
    "delete_parameter",
    "delete_subscription",
    "delete_trigger",
    "deploy",
    "download_artifacts",
    "download_model",
    "end_run",
    "fire_trigger",
    "get_parameter",
    "get_parameter_history",
    "get_parameters_by_path",
    "get_run",
    "get_trigger",
    "label_parameter_version",
    "list_artifacts",
    "list_deliveries",
    "list_subscriptions",
    "list_triggers",
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
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "subscribe",
    "trigger_history",
    "update_trigger",
    "upload_data",
]

# The SDK (HTTP client, pydantic models) loads on first use, so processes that only need a
# submodule (a job's runner, a serving worker) start fast.
_HERE = {name for name in __all__ if name in globals()}
__getattr__, __dir__ = exports(
    __name__,
    {
        **{name: ".client.sdk" for name in __all__ if name not in _HERE},
        "Settings": ".settings",
    },
)
