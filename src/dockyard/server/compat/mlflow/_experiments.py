"""MLflow's experiment endpoints (``/api/2.0/mlflow/experiments/...``) over the tracking service."""

from __future__ import annotations

import re
from typing import Any, Final

from dockyard.auth import Actor
from dockyard.server.compat.mlflow._convert import experiment_json
from dockyard.server.compat.mlflow._endpoint import Endpoint
from dockyard.server.compat.mlflow._errors import INVALID_PARAMETER_VALUE, MlflowError
from dockyard.server.compat.mlflow._fields import VIEW_TYPES, Fields
from dockyard.tracking import (
    CreateExperiment,
    LifecycleStage,
    TagIn,
    TrackingService,
    UpdateExperiment,
    ViewType,
)

__all__ = ["ENDPOINTS"]

_SEARCH_MAX_RESULTS: Final = 1000

# The experiment filters the service can answer: a name compared with =, LIKE or ILIKE.
_NAME_FILTER: Final = re.compile(
    r"""^\s*(?:attributes?\.)?name\s+(=|like|ilike)\s+(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)")\s*$""",
    re.IGNORECASE,
)
_DEFAULT_ORDER: Final = {"experiment_id", "experiment_id asc"}


def _tags(fields: Fields) -> list[dict[str, Any]]:
    return [
        {"key": t.get("key"), "value": "" if t.get("value") is None else t["value"]}
        for t in fields.objects("tags")
    ]


def create_experiment(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Create an experiment; Dockyard chooses its artifact location."""
    name = fields.string("name", required=True)
    if fields.string("artifact_location"):
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            "artifact_location cannot be chosen on this server: Dockyard places every "
            "experiment's artifacts in its own artifact store. Leave it unset.",
        )
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


def _name_filter(text: str) -> tuple[str | None, str | None]:
    """(LIKE pattern for the service, exact name to keep) for an MLflow experiment filter."""
    if not text.strip():
        return None, None
    match = _NAME_FILTER.match(text)
    if match is None:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid experiment filter {text!r}: this server filters experiments by name only "
            "(name = 'x', name LIKE 'x%', name ILIKE '%x%').",
        )
    operator = match.group(1).lower()
    quoted = match.group(2) if match.group(2) is not None else match.group(3)
    value = quoted.replace("''", "'").replace('""', '"')
    # The service's pattern match is case-insensitive and treats % and _ as wildcards, so an
    # exact comparison keeps only the name itself from what the pattern returns.
    return value, value if operator == "=" else None


def search_experiments(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Experiments by lifecycle stage and name filter, in id order, with page tokens."""
    order_by = fields.strings("order_by")
    unsupported = [o for o in order_by if " ".join(o.lower().split()) not in _DEFAULT_ORDER]
    if unsupported:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid order_by clause {unsupported[0]!r}: this server lists experiments in "
            "experiment_id order only.",
        )
    pattern, exact = _name_filter(fields.string("filter"))
    max_results = fields.integer("max_results")
    page = tracking.search_experiments(
        actor,
        view=fields.enum("view_type", VIEW_TYPES) or ViewType.ACTIVE_ONLY,
        name_like=pattern,
        max_results=max_results if max_results is not None else _SEARCH_MAX_RESULTS,
        page_token=fields.string("page_token") or None,
    )
    items = [e for e in page.items if exact is None or e.name == exact]
    body: dict[str, Any] = {"experiments": [experiment_json(e) for e in items]}
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
    """Remove one experiment tag."""
    experiment_id = fields.string("experiment_id", required=True)
    tracking.delete_experiment_tag(actor, experiment_id, fields.string("key", required=True))
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
