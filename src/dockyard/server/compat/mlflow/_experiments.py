"""MLflow's experiment endpoints (``/api/2.0/mlflow/experiments/...``) over the tracking service.

``artifact_location`` in ``experiments/create`` is accepted (type-checked, as MLflow checks it)
and not used: Dockyard keeps every experiment's artifacts in its own artifact store, where its
permission checks apply, and reports them as ``mlflow-artifacts:/<experiment_id>``. Honouring a
client-chosen location would let any member point a server at paths of its choosing.
"""

from __future__ import annotations

from typing import Any, Final

from dockyard.api.tracking import (
    CreateExperiment,
    LifecycleStage,
    TagIn,
    UpdateExperiment,
    ViewType,
)
from dockyard.errors import NotFound
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._convert import experiment_json
from dockyard.server.compat.mlflow._endpoint import Endpoint
from dockyard.server.compat.mlflow._fields import VIEW_TYPES, Fields
from dockyard.server.tracking import TrackingService

__all__ = ["ENDPOINTS"]

_SEARCH_MAX_RESULTS: Final = 1000


def _tags(fields: Fields) -> list[dict[str, Any]]:
    return [
        {"key": t.get("key"), "value": "" if t.get("value") is None else t["value"]}
        for t in fields.objects("tags")
    ]


def create_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Create an experiment; Dockyard chooses its artifact location (see the module's doc)."""
    name = fields.string("name", required=True)
    fields.string("artifact_location")  # checked, in MLflow's order, then not used
    request = CreateExperiment.model_validate({"name": name, "tags": _tags(fields)})
    return {"experiment_id": tracking.create_experiment(actor, request).experiment_id}


def get_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """One experiment by id."""
    experiment = tracking.get_experiment(actor, fields.string("experiment_id", required=True))
    return {"experiment": experiment_json(experiment)}


def get_experiment_by_name(
    tracking: TrackingService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """One experiment by its unique name (RESOURCE_DOES_NOT_EXIST tells clients to create it)."""
    experiment = tracking.get_experiment_by_name(
        actor, fields.string("experiment_name", required=True)
    )
    return {"experiment": experiment_json(experiment)}


def search_experiments(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Experiments by lifecycle stage and MLflow filter, newest first unless ordered."""
    max_results = fields.integer("max_results")
    page = tracking.search_experiments(
        actor,
        view=fields.enum("view_type", VIEW_TYPES) or ViewType.ACTIVE_ONLY,
        filter=fields.string("filter"),
        order_by=fields.strings("order_by"),
        max_results=max_results if max_results is not None else _SEARCH_MAX_RESULTS,
        page_token=fields.string("page_token") or None,
    )
    body: dict[str, Any] = {"experiments": [experiment_json(e) for e in page.items]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def update_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Rename an experiment."""
    experiment_id = fields.string("experiment_id", required=True)
    request = UpdateExperiment.model_validate({"name": fields.string("new_name", required=True)})
    tracking.rename_experiment(actor, experiment_id, request.name)
    return {}


def delete_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Soft-delete an experiment."""
    experiment_id = fields.string("experiment_id", required=True)
    tracking.set_experiment_stage(actor, experiment_id, LifecycleStage.DELETED)
    return {}


def restore_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Undo a soft delete."""
    experiment_id = fields.string("experiment_id", required=True)
    tracking.set_experiment_stage(actor, experiment_id, LifecycleStage.ACTIVE)
    return {}


def set_experiment_tag(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Set one experiment tag."""
    experiment_id = fields.string("experiment_id", required=True)
    tag = TagIn.model_validate(
        {"key": fields.string("key", required=True), "value": fields.string("value")}
    )
    tracking.set_experiment_tag(actor, experiment_id, tag.key, tag.value)
    return {}


def delete_experiment_tag(
    tracking: TrackingService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Remove one experiment tag; one the experiment lacks is RESOURCE_DOES_NOT_EXIST, as in
    MLflow (the native API takes it as done)."""
    experiment_id = fields.string("experiment_id", required=True)
    key = fields.string("key", required=True)
    if not tracking.delete_experiment_tag(actor, experiment_id, key):
        raise NotFound(
            f"No tag with name: {key} in experiment with id {experiment_id}", field="key"
        )
    return {}


ENDPOINTS: Final = (
    Endpoint("experiments/create", ("POST",), create_experiment),
    Endpoint("experiments/get", ("GET",), get_experiment),
    Endpoint("experiments/get-by-name", ("GET",), get_experiment_by_name),
    Endpoint("experiments/search", ("GET", "POST"), search_experiments),
    Endpoint("experiments/update", ("POST",), update_experiment),
    Endpoint("experiments/delete", ("POST",), delete_experiment),
    Endpoint("experiments/restore", ("POST",), restore_experiment),
    Endpoint("experiments/set-experiment-tag", ("POST",), set_experiment_tag),
    Endpoint("experiments/delete-experiment-tag", ("POST",), delete_experiment_tag),
)
