"""MLflow 3's logged-model endpoints (``/api/2.0/mlflow/logged-models/...``) over the
logged-model service.

``mlflow.<flavor>.log_model`` creates a logged model, links it to the run (``runs/outputs``, in
:mod:`._runs`), uploads its files through the artifact door under
``<experiment>/models/<model_id>/artifacts/``, finalizes it ``READY`` and, with
``registered_model_name``, registers ``models:/<model_id>``. Every rule (who may change a model,
what a search means) is the service's; this module only reads MLflow's requests and writes its
answers.
"""

from __future__ import annotations

import posixpath
from typing import Any, Final

from dockyard.api.tracking import (
    CreateLoggedModel,
    LoggedModelStatus,
    ParamIn,
    SearchLoggedModels,
    TagIn,
)
from dockyard.artifacts.paths import join_artifact_path, normalize_artifact_path
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._convert import (
    LOGGED_MODEL_STATUSES,
    logged_model_json,
    to_artifact_uri,
)
from dockyard.server.compat.mlflow._endpoint import Endpoint
from dockyard.server.compat.mlflow._errors import invalid_value, missing_value
from dockyard.server.compat.mlflow._fields import Fields
from dockyard.server.tracking import LoggedModelService

__all__ = ["ENDPOINTS"]

_STATUS_BY_NAME: Final = {name: status for status, name in LOGGED_MODEL_STATUSES.items()}
_STATUS_BY_NUMBER: Final = {
    str(number): status for number, status in enumerate(LOGGED_MODEL_STATUSES, start=1)
}


def _pairs(fields: Fields, name: str) -> list[dict[str, Any]]:
    items = fields.objects(name)
    for index, item in enumerate(items):
        if item.get("key") in (None, ""):
            raise missing_value(f"{name}[{index}].key")
    return [{"key": t["key"], "value": "" if t.get("value") is None else t["value"]} for t in items]


def _logged_models(services: Services) -> LoggedModelService:
    return services.logged_models


def _services(services: Services) -> Services:
    return services


def create_logged_model(models: LoggedModelService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Create a ``PENDING`` logged model in an experiment."""
    request = CreateLoggedModel.model_validate(
        {
            "experiment_id": fields.string("experiment_id", required=True),
            "name": fields.string("name") or None,
            "model_type": fields.optional_string("model_type"),
            "source_run_id": fields.string("source_run_id") or None,
            "params": _pairs(fields, "params"),
            "tags": _pairs(fields, "tags"),
        }
    )
    return {"model": logged_model_json(models.create(actor, request))}


def get_logged_model(models: LoggedModelService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """One logged model; a deleted one only with ``allow_deleted=true``."""
    allow_deleted = str(fields.raw("allow_deleted") or "").lower() == "true"
    model = models.get(actor, fields.path("model_id"), allow_deleted=allow_deleted)
    return {"model": logged_model_json(model)}


def _status(fields: Fields) -> LoggedModelStatus:
    value = fields.raw("status")
    if value is None:
        raise missing_value("status")
    found = _STATUS_BY_NAME.get(str(value)) or _STATUS_BY_NUMBER.get(str(value))
    if found is None or isinstance(value, bool):
        raise invalid_value(
            "status", value, f"expected one of {', '.join(_STATUS_BY_NAME)} or 1 to 3."
        )
    return found


def finalize_logged_model(
    models: LoggedModelService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Record how the client's upload ended (``LOGGED_MODEL_READY`` or ``..._UPLOAD_FAILED``)."""
    model = models.finalize(actor, fields.path("model_id"), _status(fields))
    return {"model": logged_model_json(model)}


def delete_logged_model(models: LoggedModelService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """Soft-delete a logged model."""
    models.delete(actor, fields.path("model_id"))
    return {}


def log_logged_model_params(
    models: LoggedModelService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Add params to a logged model (the client sends them 100 at a time)."""
    params = [ParamIn.model_validate(p) for p in _pairs(fields, "params")]
    models.log_params(actor, fields.path("model_id"), params)
    return {}


def set_logged_model_tags(
    models: LoggedModelService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Set tags on a logged model."""
    tags = [TagIn.model_validate(t) for t in _pairs(fields, "tags")]
    models.set_tags(actor, fields.path("model_id"), tags)
    return {}


def delete_logged_model_tag(
    models: LoggedModelService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Remove one tag of a logged model."""
    models.delete_tag(actor, fields.path("model_id"), fields.path("tag_key"))
    return {}


def search_logged_models(
    models: LoggedModelService, actor: Actor, fields: Fields
) -> dict[str, Any]:
    """Logged models of some experiments, filtered, ordered and paged as MLflow's server does."""
    experiment_ids = fields.strings("experiment_ids")
    if not experiment_ids:
        raise missing_value("experiment_ids")
    request: dict[str, Any] = {
        "experiment_ids": experiment_ids,
        "filter": fields.string("filter"),
        "datasets": [
            {k: v for k, v in d.items() if k in ("dataset_name", "dataset_digest") and v}
            for d in fields.objects("datasets")
        ],
        "order_by": [
            {
                k: v
                for k, v in o.items()
                if k in ("field_name", "ascending", "dataset_name", "dataset_digest")
                and v is not None
                and v != ""
            }
            for o in fields.objects("order_by")
        ],
        "page_token": fields.string("page_token") or None,
    }
    max_results = fields.integer("max_results")
    if max_results:  # protobuf's 0 is "unset": the default page
        request["max_results"] = max_results
    page = models.search(actor, SearchLoggedModels.model_validate(request))
    body: dict[str, Any] = {"models": [logged_model_json(m) for m in page.items]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def list_logged_model_artifacts(services: Services, actor: Actor, fields: Fields) -> dict[str, Any]:
    """The files and folders directly in a folder of a logged model's files (MLflow's UI)."""
    root = services.logged_models.artifact_prefix(actor, fields.path("model_id"))
    relative = fields.string("artifact_directory_path")
    folder = normalize_artifact_path(relative, allow_root=True) if relative else ""
    key = join_artifact_path(root, folder) if folder else root
    files: list[dict[str, Any]] = []
    for entry in services.artifacts.list(key):
        name = posixpath.basename(entry.path)
        item: dict[str, Any] = {
            "path": f"{folder}/{name}" if folder else name,
            "is_dir": entry.is_dir,
        }
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return {"root_uri": to_artifact_uri(root), "files": files}


_MODEL: Final = "logged-models/{model_id}"

ENDPOINTS: Final = (
    Endpoint("logged-models", ("POST",), create_logged_model, _logged_models),
    Endpoint("logged-models/search", ("POST",), search_logged_models, _logged_models),
    Endpoint(_MODEL, ("GET",), get_logged_model, _logged_models),
    Endpoint(_MODEL, ("PATCH",), finalize_logged_model, _logged_models),
    Endpoint(_MODEL, ("DELETE",), delete_logged_model, _logged_models),
    Endpoint(f"{_MODEL}/params", ("POST",), log_logged_model_params, _logged_models),
    Endpoint(f"{_MODEL}/tags", ("PATCH",), set_logged_model_tags, _logged_models),
    Endpoint(
        f"{_MODEL}/tags/{{tag_key:path}}", ("DELETE",), delete_logged_model_tag, _logged_models
    ),
    Endpoint(f"{_MODEL}/artifacts/directories", ("GET",), list_logged_model_artifacts, _services),
)
