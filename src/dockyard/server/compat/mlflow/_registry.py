"""MLflow's model registry API (``registered-models/*``, ``model-versions/*``) over the registry.

A version's download URI is ``mlflow-artifacts:/registry/<model id>/<version>``: the registry's
immutable copy, served read-only by :mod:`._registry_files` in front of the run-artifact door,
so ``mlflow.pyfunc.load_model("models:/name@champion")`` downloads exactly the registered files.

MLflow's registry records a version's source without reading it; Dockyard copies and verifies
it. Where the source names nothing this server holds (a run of another server, an empty logged
model), MLflow's clients still get a version: one recorded as a reference
(``CreateModelVersion.reference_missing_source``), whose download URI is its source, as on
MLflow's server. Stages (deprecated by MLflow for aliases) are kept for the clients that still
move versions through them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dockyard.api.registry import (
    CreateModelVersion,
    CreateRegisteredModel,
    ModelVersion,
    RegisteredModel,
)
from dockyard.api.tracking import TagIn
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.server._auth import actor_of
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._convert import ARTIFACT_SCHEME
from dockyard.server.compat.mlflow._endpoint import services_of
from dockyard.server.compat.mlflow._errors import (
    INVALID_PARAMETER_VALUE,
    MlflowError,
    error_response,
)
from dockyard.server.compat.mlflow._fields import Fields, parse_body
from dockyard.server.registry import RegistryService

__all__ = ["ROUTES", "Endpoint"]

Handler = Callable[[RegistryService, Fields, Actor], dict[str, Any]]
Endpoint = Callable[[Request], Awaitable[Response]]

_MAX_PAGE: Final = 1000
# The most a search may ask for, as MLflow's registry refuses more.
_MOST_MODELS: Final = 1000
_MOST_VERSIONS: Final = 200_000
_RUN_KEY: Final = re.compile(r"^\d+/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_MODEL_KEY: Final = re.compile(r"^\d+/models/(m-[0-9a-f]{32})/artifacts/?$")
# MLflow's clients add a clause on this tag to every model search, to leave prompts out. Dockyard
# stores no prompts (the tag is refused), so "!= 'true'" keeps everything and "= 'true'" nothing.
_PROMPT_TAG: Final = "mlflow.prompt.is_prompt"


# -- JSON -------------------------------------------------------------------------------------


def _pairs(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def _version_json(v: ModelVersion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.last_updated_time,
        "user_id": v.created_by,
        "current_stage": v.stage,
        "description": v.description,
        "source": v.source,
        "status": v.status.value,
        "tags": _pairs(v.tags),
        "aliases": v.aliases,
    }
    if v.run_id is not None:
        body["run_id"] = v.run_id
    if v.logged_model_id is not None:
        body["model_id"] = v.logged_model_id
    return body


def _model_json(registry: RegistryService, actor: Actor, m: RegisteredModel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_updated_time,
        "description": m.description,
        "tags": _pairs(m.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in m.aliases.items()],
    }
    if m.latest_version is not None:
        # MLflow's latest_versions: the newest version of each stage.
        body["latest_versions"] = [
            _version_json(v) for v in registry.latest_versions(actor, m.name)
        ]
    return body


# -- reading requests -------------------------------------------------------------------------


def _no_prompt(key: Any) -> None:
    if key == _PROMPT_TAG:
        raise MlflowError(
            INVALID_PARAMETER_VALUE, "This server's registry keeps models, not prompts."
        )


def _tags(fields: Fields) -> list[dict[str, Any]]:
    tags = [
        {"key": t.get("key"), "value": "" if t.get("value") is None else str(t["value"])}
        for t in fields.objects("tags")
    ]
    for tag in tags:
        _no_prompt(tag["key"])
    return tags


def _page(fields: Fields, default: int, most: int) -> tuple[int, str | None]:
    """The page size asked (MLflow refuses more than ``most``; a page holds at most
    ``_MAX_PAGE``, the rest follows by token) and the page token."""
    requested = fields.integer("max_results")
    limit = default if requested is None else requested
    if limit < 1:
        raise MlflowError(INVALID_PARAMETER_VALUE, "max_results must be a positive integer.")
    if limit > most:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            "Invalid value for request parameter max_results. It must be at most "
            f"{most}, but got value {limit}",
        )
    return min(limit, _MAX_PAGE), fields.optional_string("page_token") or None


def _source(fields: Fields) -> str:
    """A Dockyard source URI for MLflow's: a run's ``mlflow-artifacts:/`` key is ``runs:/``."""
    source = fields.string("source", required=True)
    if not source.startswith(ARTIFACT_SCHEME):
        return source
    key = source[len(ARTIFACT_SCHEME) :].strip("/")
    model = _MODEL_KEY.match(key)
    if model is not None:  # a logged model's folder: the model itself
        return f"models:/{model.group(1)}"
    match = _RUN_KEY.match(key)
    if match is None:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid model version source: {source[:300]!r}. Register a run's model "
            "(runs:/<run_id>/<path>), a logged model (models:/<model_id>) or a registered "
            "version (models:/<name>/<version>).",
        )
    return f"runs:/{match.group(1)}/{match.group(2) or ''}"


# -- registered models ------------------------------------------------------------------------


def create_registered_model(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    body = {"name": f.string("name", required=True), "tags": _tags(f)}
    body["description"] = f.string("description")
    model = r.create_registered_model(actor, CreateRegisteredModel.model_validate(body))
    return {"registered_model": _model_json(r, actor, model)}


def get_registered_model(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    return {
        "registered_model": _model_json(
            r, actor, r.get_registered_model(actor, f.string("name", required=True))
        )
    }


def rename_registered_model(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, new_name = f.string("name", required=True), f.string("new_name", required=True)
    return {
        "registered_model": _model_json(r, actor, r.rename_registered_model(actor, name, new_name))
    }


def update_registered_model(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    model = r.update_registered_model(
        actor, f.string("name", required=True), f.string("description")
    )
    return {"registered_model": _model_json(r, actor, model)}


def delete_registered_model(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    r.delete_registered_model(actor, f.string("name", required=True))
    return {}


def search_registered_models(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """Models by MLflow's filter (name, tags; LIKE is case-sensitive, ILIKE is not), ordered."""
    limit, token = _page(f, 100, _MOST_MODELS)
    page = r.search_registered_models(
        actor,
        filter=f.string("filter"),
        order_by=f.strings("order_by"),
        max_results=limit,
        page_token=token,
    )
    body: dict[str, Any] = {"registered_models": [_model_json(r, actor, m) for m in page.items]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def get_latest_versions(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """The newest version of each stage asked for (of every stage when none is)."""
    versions = r.latest_versions(actor, f.string("name", required=True), f.strings("stages"))
    return {"model_versions": [_version_json(v) for v in versions]}


def transition_stage(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """Move a version to another (deprecated) stage, archiving the others if asked."""
    archive = f.raw("archive_existing_versions")
    version = r.transition_stage(
        actor,
        *_name_version(f),
        f.string("stage", required=True),
        archive_existing=archive is True or str(archive).lower() == "true",
    )
    return {"model_version": _version_json(version)}


def set_registered_model_tag(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    _no_prompt(f.string("key"))
    tag = TagIn.model_validate({"key": f.string("key", required=True), "value": f.string("value")})
    r.set_registered_model_tag(actor, f.string("name", required=True), tag.key, tag.value)
    return {}


def _absent_is_deleted(delete: Callable[[], None], field: str) -> dict[str, Any]:
    """Run ``delete``, taking "no such tag or alias" as done, as MLflow's registry does.

    A missing model or version is still RESOURCE_DOES_NOT_EXIST (its NotFound names another
    field), and the permission check has already run.
    """
    try:
        delete()
    except NotFound as absent:
        if absent.field != field:
            raise
    return {}


def delete_registered_model_tag(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, key = f.string("name", required=True), f.string("key", required=True)
    return _absent_is_deleted(lambda: r.delete_registered_model_tag(actor, name, key), "key")


def set_alias(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, alias = f.string("name", required=True), f.string("alias", required=True)
    r.set_alias(actor, name, alias, f.string("version", required=True))
    return {}


def delete_alias(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, alias = f.string("name", required=True), f.string("alias", required=True)
    return _absent_is_deleted(lambda: r.delete_alias(actor, name, alias), "alias")


def get_version_by_alias(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, alias = f.string("name", required=True), f.string("alias", required=True)
    try:
        version = r.get_version_by_alias(actor, name, alias)
    except NotFound as absent:
        if absent.field != "alias":
            raise
        # MLflow's code and words for an alias the model does not have.
        raise MlflowError(
            INVALID_PARAMETER_VALUE, f"Registered model alias {alias} not found."
        ) from None
    return {"model_version": _version_json(version)}


# -- versions ---------------------------------------------------------------------------------


def create_model_version(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """Copy, verify and register a run's or a logged model's package."""
    body = {
        "source": _source(f),
        "run_id": f.optional_string("run_id") or None,
        "logged_model_id": f.optional_string("model_id") or None,
        "description": f.string("description"),
        "tags": _tags(f),
        "reference_missing_source": True,  # as MLflow's registry does: see the module's doc
    }
    request = CreateModelVersion.model_validate(body)
    try:
        version = r.create_model_version(actor, f.string("name", required=True), request)
    except PermissionDenied as exc:
        if exc.field == "source" and _is_local(request.source):
            # MLflow refuses a local path it may not read as a bad parameter, in words its
            # clients match; the place it may not be read from is not a missing grant.
            raise MlflowError(
                INVALID_PARAMETER_VALUE,
                f"Invalid model version source: {request.source[:300]!r}. To use a local path "
                "as a model version source, it must lie within this server's allowed roots "
                "(the artifact store and DOCKYARD_DATA_ROOTS); a run's model is registered "
                "as runs:/<run_id>/<path>.",
            ) from exc
        raise
    except InvalidArgument as exc:
        # MLflow's words first, which its clients match; then what is wrong.
        if exc.field == "source":
            message = f"Invalid model version source: {exc.message}"
        elif exc.field in ("run_id", "model_id"):
            message = (
                f"Invalid model version source: {request.source[:300]!r}. The {exc.field} "
                f"request parameter must identify the resource that contains the source "
                f"({exc.message})."
            )
        else:
            raise
        raise MlflowError(INVALID_PARAMETER_VALUE, message) from exc
    return {"model_version": _version_json(version)}


def _is_local(source: str) -> bool:
    """Whether ``source`` names a local path (``/data/model``, ``file:///data/model``)."""
    return source.startswith(("/", "file:")) or ":" not in source


def _name_version(f: Fields) -> tuple[str, str]:
    name, version = f.string("name", required=True), f.string("version", required=True)
    try:
        int(version)
    except ValueError:
        # MLflow's words, which its clients match; the registry names other bad numbers.
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Parameter 'version' must be an integer, got {version[:40]!r}.",
        ) from None
    return name, version


def get_model_version(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    return {"model_version": _version_json(r.get_model_version(actor, *_name_version(f)))}


def update_model_version(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    version = r.update_model_version(actor, *_name_version(f), f.string("description"))
    return {"model_version": _version_json(version)}


def delete_model_version(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    r.delete_model_version(actor, *_name_version(f))
    return {}


def search_model_versions(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """Versions by MLflow's filter (name, run_id, source_path, version_number, tags), in
    MLflow's order: newest update first unless ordered otherwise."""
    limit, token = _page(f, _MAX_PAGE, _MOST_VERSIONS)
    page = r.search_model_versions(
        actor,
        filter=f.string("filter"),
        order_by=f.strings("order_by"),
        max_results=limit,
        page_token=token,
    )
    body: dict[str, Any] = {"model_versions": [_version_json(v) for v in page.items]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def get_download_uri(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    """The registry's copy of the version, or (for a reference) the URI it refers to."""
    version = r.get_model_version(actor, *_name_version(f))
    if version.is_reference:
        return {"artifact_uri": version.storage_location}
    return {"artifact_uri": f"{ARTIFACT_SCHEME}{version.storage_location}"}


def set_model_version_tag(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    _no_prompt(f.string("key"))
    tag = TagIn.model_validate({"key": f.string("key", required=True), "value": f.string("value")})
    r.set_model_version_tag(actor, *_name_version(f), tag.key, tag.value)
    return {}


def delete_model_version_tag(r: RegistryService, f: Fields, actor: Actor) -> dict[str, Any]:
    name, version = _name_version(f)
    key = f.string("key", required=True)
    return _absent_is_deleted(lambda: r.delete_model_version_tag(actor, name, version, key), "key")


# -- wiring -----------------------------------------------------------------------------------


def _endpoint(handler: Handler) -> Endpoint:
    """A Starlette endpoint speaking MLflow's JSON and errors around a registry handler."""

    async def endpoint(request: Request) -> Response:
        try:
            if request.method == "GET" and request.query_params:
                fields = Fields(request.query_params)
            else:
                fields = Fields(parse_body(await request.body()))
            registry = services_of(request).registry
            result = await run_in_threadpool(handler, registry, fields, actor_of(request.scope))
        except Exception as exc:  # every failure becomes MLflow's error body, never a 500 page
            return error_response(exc, request)
        return Response(orjson.dumps(result), media_type="application/json")

    endpoint.__name__ = handler.__name__
    return endpoint


_TABLE: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("registered-models/create", "POST", create_registered_model),
    ("registered-models/rename", "POST", rename_registered_model),
    ("registered-models/update", "PATCH", update_registered_model),
    ("registered-models/delete", "DELETE", delete_registered_model),
    ("registered-models/get", "GET", get_registered_model),
    ("registered-models/search", "GET", search_registered_models),
    ("registered-models/get-latest-versions", "POST", get_latest_versions),
    ("registered-models/get-latest-versions", "GET", get_latest_versions),
    ("registered-models/set-tag", "POST", set_registered_model_tag),
    ("registered-models/delete-tag", "DELETE", delete_registered_model_tag),
    ("registered-models/alias", "POST", set_alias),
    ("registered-models/alias", "DELETE", delete_alias),
    ("registered-models/alias", "GET", get_version_by_alias),
    ("model-versions/create", "POST", create_model_version),
    ("model-versions/update", "PATCH", update_model_version),
    ("model-versions/delete", "DELETE", delete_model_version),
    ("model-versions/get", "GET", get_model_version),
    ("model-versions/search", "GET", search_model_versions),
    ("model-versions/get-download-uri", "GET", get_download_uri),
    ("model-versions/transition-stage", "POST", transition_stage),
    ("model-versions/set-tag", "POST", set_model_version_tag),
    ("model-versions/delete-tag", "DELETE", delete_model_version_tag),
)

#: ``(path under /api/2.0/mlflow/, methods, endpoint)``: one route per path, every method on it.
ROUTES: Final[tuple[tuple[str, tuple[str, ...], Endpoint], ...]] = tuple(
    (path, (method,), _endpoint(handler)) for path, method, handler in _TABLE
)
