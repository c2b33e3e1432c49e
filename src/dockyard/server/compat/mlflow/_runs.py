"""MLflow's run and metric endpoints (``/api/2.0/mlflow/runs/...``, ``metrics/...``).

Every write goes through :meth:`TrackingService.log_batch`, the one write path for run data, so a
single ``log-metric`` obeys exactly the rules a batch does. The adapter adds only MLflow's protocol
limits (a batch holds at most 1000 metrics, 100 params, 100 tags, 1000 entries in all), which are
narrower than Dockyard's own and which MLflow clients rely on being enforced with MLflow's words.
"""

from __future__ import annotations

from typing import Any, Final

from dockyard.api.tracking import (
    LIMITS,
    CreateRun,
    LifecycleStage,
    LogBatch,
    LogInputs,
    LogOutputs,
    MetricIn,
    SearchRuns,
    UpdateRun,
    ViewType,
)
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._convert import metrics_json, run_info_json, run_json
from dockyard.server.compat.mlflow._endpoint import Endpoint
from dockyard.server.compat.mlflow._errors import (
    INVALID_PARAMETER_VALUE,
    MlflowError,
    missing_value,
)
from dockyard.server.compat.mlflow._fields import RUN_STATUSES, VIEW_TYPES, Fields
from dockyard.server.tracking import TrackingService

__all__ = ["ENDPOINTS"]

# MLflow's documented batch limits (mlflow/utils/validation.py).
MAX_METRICS_PER_BATCH: Final = 1000
MAX_PARAMS_TAGS_PER_BATCH: Final = 100
MAX_ENTITIES_PER_BATCH: Final = 1000
SEARCH_MAX_RESULTS: Final = 50_000


def _value(item: dict[str, Any]) -> Any:
    # protobuf reads a null or absent string as empty; any other non-string is left for the
    # request model to refuse with the field's name.
    value = item.get("value")
    return "" if value is None else value


def _pairs(fields: Fields, name: str, *, at: str = "") -> list[dict[str, Any]]:
    """A repeated key/value field (params, tags); every item needs a key.

    ``at`` is where ``fields`` sits in the request, so errors name the full parameter path.
    """
    items = fields.objects(name)
    for index, item in enumerate(items):
        if item.get("key") in (None, ""):
            raise missing_value(f"{at}{name}[{index}].key")
    return [{"key": t["key"], "value": _value(t)} for t in items]


def _truncated(items: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Params' or tags' values cut to ``limit`` characters.

    MLflow's server truncates a run's longer param and tag values (``MLFLOW_TRUNCATE_LONG_VALUES``,
    on by default) instead of refusing them, and scripts rely on it; the native API refuses them.
    """
    return [
        {**item, "value": item["value"][:limit]} if isinstance(item["value"], str) else item
        for item in items
    ]


def _params(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _truncated(items, LIMITS.param_value_length)


def _tags(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _truncated(items, LIMITS.tag_value_length)


_LINKS: Final = ("model_id", "dataset_name", "dataset_digest")


def _metric(item: dict[str, Any]) -> dict[str, Any]:
    """A metric point's fields, for the request model to type-check.

    The request model (pydantic, in Rust) parses what protobuf JSON allows: numbers or strings
    (``"NaN"``, ``"-Infinity"``, ``"1.5"``) for the value, integers or decimal strings for the
    timestamp and step. A ``model_id`` (with its dataset) links the point to a logged model too;
    other fields (the ``run_id`` MLflow 3 repeats in each point) are dropped, as MLflow's parser
    drops what it does not use.
    """
    step = item.get("step")
    point = {
        "key": item.get("key"),
        "value": item.get("value"),
        "timestamp": item.get("timestamp"),
        "step": 0 if step is None else step,
    }
    for name in _LINKS:
        # protobuf reads an empty string as unset
        if item.get(name) not in (None, ""):
            point[name] = item[name]
    return point


def _check_batch_limit(entity: str, limit: int, count: int) -> None:
    if count > limit:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"A batch logging request can contain at most {limit} {entity}. Got {count} "
            f"{entity}. Please split up {entity} across multiple requests and try again.",
        )


def create_run(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Start a run; the client's ``mlflow.*`` tags (run name, parent, source) are kept."""
    request: dict[str, Any] = {
        "experiment_id": fields.string("experiment_id", default="0") or "0",
        "user_id": fields.string("user_id"),
        "tags": _tags(_pairs(fields, "tags")),
    }
    if fields.has("run_name"):
        request["run_name"] = fields.string("run_name") or None
    if fields.has("start_time"):
        request["start_time"] = fields.integer("start_time")
    return {"run": run_json(tracking.create_run(actor, CreateRun.model_validate(request)))}


def get_run(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """A run with its data."""
    return {"run": run_json(tracking.get_run(actor, fields.run_id()))}


def update_run(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Change a run's status (ending it stamps end_time), end time or name."""
    run_id = fields.run_id()
    request = UpdateRun(
        status=fields.enum("status", RUN_STATUSES),
        end_time=fields.integer("end_time"),
        run_name=fields.optional_string("run_name") or None,
    )
    return {"run_info": run_info_json(tracking.update_run(actor, run_id, request))}


def delete_run(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Soft-delete a run."""
    tracking.set_run_stage(actor, fields.run_id(), LifecycleStage.DELETED)
    return {}


def restore_run(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Undo a soft delete."""
    tracking.set_run_stage(actor, fields.run_id(), LifecycleStage.ACTIVE)
    return {}


def log_metric(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Append one point to a metric's history."""
    run_id = fields.run_id()
    item = {name: fields.raw(name) for name in ("key", "value", "timestamp", "step", *_LINKS)}
    metric = MetricIn.model_validate(_metric(item))
    tracking.log_batch(actor, run_id, LogBatch(metrics=[metric]))
    return {}


def log_param(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Log one param; a different value for a logged key is INVALID_PARAMETER_VALUE."""
    run_id = fields.run_id()
    param = {"key": fields.string("key", required=True), "value": fields.string("value")}
    tracking.log_batch(actor, run_id, LogBatch.model_validate({"params": _params([param])}))
    return {}


def set_tag(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Set one run tag (``mlflow.runName`` renames the run)."""
    run_id = fields.run_id()
    tag = {"key": fields.string("key", required=True), "value": fields.string("value")}
    tracking.log_batch(actor, run_id, LogBatch.model_validate({"tags": _tags([tag])}))
    return {}


def delete_tag(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Remove one run tag."""
    tracking.delete_tag(actor, fields.run_id(), fields.string("key", required=True))
    return {}


def log_batch(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Log metrics, params and tags atomically, within MLflow's batch limits."""
    run_id = fields.string("run_id", required=True)
    metrics = fields.objects("metrics")
    params = _pairs(fields, "params")
    tags = _pairs(fields, "tags")
    _check_batch_limit("metrics", MAX_METRICS_PER_BATCH, len(metrics))
    _check_batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, len(params))
    _check_batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, len(tags))
    _check_batch_limit(
        "metrics, params, and tags", MAX_ENTITIES_PER_BATCH, len(metrics) + len(params) + len(tags)
    )
    batch = LogBatch.model_validate(
        {
            "metrics": [_metric(m) for m in metrics],
            "params": _params(params),
            "tags": _tags(tags),
        }
    )
    tracking.log_batch(actor, run_id, batch)
    return {}


def log_inputs(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Record the datasets a run consumed and the logged models it used."""
    run_id = fields.string("run_id", required=True)
    models = [m.get("model_id") for m in fields.objects("models")]
    datasets = []
    for index, item in enumerate(fields.objects("datasets")):
        tags = _pairs(Fields(item), "tags", at=f"datasets[{index}].")
        datasets.append(
            {"dataset": item.get("dataset"), "tags": {t["key"]: t["value"] for t in tags}}
        )
    request = LogInputs.model_validate({"datasets": datasets, "models": models})
    tracking.log_inputs(actor, run_id, request)
    return {}


def log_outputs(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Record the logged models a run produced (``log_model`` links each to its run)."""
    run_id = fields.string("run_id", required=True)
    models = fields.objects("models")
    if not models:
        raise missing_value("models")
    outputs = [{"model_id": m.get("model_id"), "step": m.get("step") or 0} for m in models]
    tracking.log_outputs(actor, run_id, LogOutputs.model_validate({"models": outputs}))
    return {}


def search_runs(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Runs matching an MLflow filter, ordered and paged as MLflow pages them."""
    max_results = fields.integer("max_results")
    if max_results is not None and max_results > SEARCH_MAX_RESULTS:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
            f"most {SEARCH_MAX_RESULTS}.",
        )
    request: dict[str, Any] = {
        "experiment_ids": fields.strings("experiment_ids"),
        "filter": fields.string("filter"),
        "order_by": fields.strings("order_by"),
        "run_view_type": fields.enum("run_view_type", VIEW_TYPES) or ViewType.ACTIVE_ONLY,
        "page_token": fields.string("page_token") or None,
    }
    if max_results is not None:
        request["max_results"] = max_results
    page = tracking.search_runs(actor, SearchRuns.model_validate(request))
    body: dict[str, Any] = {"runs": [run_json(r) for r in page.items]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def get_metric_history(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """A metric's full history; with ``max_results`` it is paged, as MLflow pages it."""
    run_id = fields.run_id()
    key = fields.string("metric_key", required=True)
    max_results = fields.integer("max_results")
    token = fields.string("page_token") or None
    if max_results is not None:
        if max_results <= 0:
            raise MlflowError(
                INVALID_PARAMETER_VALUE,
                f"Invalid value {max_results} for parameter 'max_results' supplied. "
                "It must be a positive integer.",
            )
        page = tracking.metric_history(
            actor,
            run_id,
            key,
            max_results=min(max_results, LIMITS.history_max_results),
            page_token=token,
        )
        body: dict[str, Any] = {"metrics": metrics_json(page.items)}
        if page.next_page_token:
            body["next_page_token"] = page.next_page_token
        return body
    # Without max_results MLflow answers the whole history at once; older clients rely on it.
    points = []
    while True:
        page = tracking.metric_history(
            actor, run_id, key, max_results=LIMITS.history_max_results, page_token=token
        )
        points.extend(page.items)
        token = page.next_page_token
        if token is None:
            return {"metrics": metrics_json(points)}


ENDPOINTS: Final = (
    Endpoint("runs/create", ("POST",), create_run),
    Endpoint("runs/get", ("GET",), get_run),
    Endpoint("runs/update", ("POST",), update_run),
    Endpoint("runs/delete", ("POST",), delete_run),
    Endpoint("runs/restore", ("POST",), restore_run),
    Endpoint("runs/log-metric", ("POST",), log_metric, short_write=True),
    Endpoint("runs/log-parameter", ("POST",), log_param, short_write=True),
    Endpoint("runs/set-tag", ("POST",), set_tag, short_write=True),
    Endpoint("runs/delete-tag", ("POST",), delete_tag),
    Endpoint("runs/log-batch", ("POST",), log_batch),
    Endpoint("runs/log-inputs", ("POST",), log_inputs),
    Endpoint("runs/outputs", ("POST",), log_outputs),
    Endpoint("runs/search", ("GET", "POST"), search_runs),
    Endpoint("metrics/get-history", ("GET",), get_metric_history),
)
