"""MLflow's proxied artifact endpoints: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]``, and
the tracking API's listing of a run's artifacts (``/api/2.0/mlflow/artifacts/list``).

Runs present their artifact URI as ``mlflow-artifacts:/<experiment>/<run>/artifacts`` and logged
models as ``mlflow-artifacts:/<experiment>/models/<model_id>/artifacts``, so the client addresses
artifacts by artifact-store key. A key is served only when it lies inside such a folder and the
owning service confirms the folder belongs to that run or model (writes also need the right to
change it): the store's other keys are not reachable through this door. Paths are checked by
:func:`normalize_artifact_path`, which refuses ``..`` escapes and absolute paths.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dockyard.artifacts.paths import join_artifact_path, normalize_artifact_path
from dockyard.errors import InvalidArgument
from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server._streaming import download, upload
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._convert import to_artifact_uri
from dockyard.server.compat.mlflow._endpoint import Endpoint, services_of
from dockyard.server.compat.mlflow._errors import (
    INVALID_PARAMETER_VALUE,
    MlflowError,
    error_response,
)
from dockyard.server.compat.mlflow._fields import Fields
from dockyard.server.compat.mlflow._mime import media_type_for

__all__ = [
    "ENDPOINTS",
    "delete_artifact",
    "download_artifact",
    "list_artifacts",
    "upload_artifact",
]

_FOLDER: Final = "artifacts"
_MODELS: Final = "models"
_EMPTY: Final = b"{}"


@dataclass(frozen=True, slots=True)
class _Key:
    """A checked artifact-store key and who owns the folder it lies in."""

    key: str
    owner: str  # a run id or a logged model id
    model: bool  # whether the owner is a logged model
    relative: str  # the path inside the owner's folder ("" for the folder itself)


def _owned_key(
    services: Services, actor: Actor, path: str, *, writable: bool, allow_root: bool
) -> _Key:
    """The store key for ``path``, once the owning service vouches for the folder it lies in."""
    key = normalize_artifact_path(path, allow_root=True)
    parts = key.split("/")
    model = len(parts) >= 4 and parts[1] == _MODELS and parts[3] == _FOLDER
    depth = 4 if model else 3
    if (
        len(parts) < depth
        or parts[depth - 1] != _FOLDER
        or (len(parts) == depth and not allow_root)
    ):
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid path {path!r}: artifacts live under <experiment_id>/<run_id>/artifacts/ "
            "or <experiment_id>/models/<model_id>/artifacts/.",
        )
    root = "/".join(parts[:depth])
    owner = parts[depth - 2]
    if model:
        prefix = services.logged_models.artifact_prefix(actor, owner, writable=writable)
    else:
        prefix = services.tracking.artifact_prefix(actor, owner, writable=writable)
    if prefix != root:
        kind = "logged model" if model else "run"
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid path {path!r}: {kind} {owner} keeps its artifacts elsewhere.",
        )
    return _Key(key, owner, model, "/".join(parts[depth:]))


def _record(services: Services, actor: Actor, found: _Key, change: str, size: int | None) -> None:
    record = (
        services.logged_models.record_artifact_change
        if found.model
        else services.tracking.record_artifact_change
    )
    record(actor, found.owner, change, found.relative, size)


def _entries(services: Services, key: str, relative_to: str = "") -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    for entry in services.artifacts.list(key):
        name = posixpath.basename(entry.path)
        item: dict[str, Any] = {
            "path": f"{relative_to}/{name}" if relative_to else name,
            "is_dir": entry.is_dir,
        }
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return files


def _list(request: Request, path: str) -> bytes:
    services = services_of(request)
    found = _owned_key(services, actor_of(request.scope), path, writable=False, allow_root=True)
    # MLflow lists names relative to the folder asked for; the client joins them back on.
    return orjson.dumps({"files": _entries(services, found.key)})


async def list_artifacts(request: Request) -> Response:
    """``GET .../artifacts?path=<folder>``: the files and folders directly in a folder."""
    try:
        body = await run_in_threadpool(_list, request, request.query_params.get("path", ""))
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)
    return Response(body, media_type="application/json")


def _file_key(request: Request) -> str:
    services = services_of(request)
    path = request.path_params["path"]
    found = _owned_key(services, actor_of(request.scope), path, writable=False, allow_root=False)
    if services.artifacts.stat(found.key).is_dir:
        raise MlflowError(
            INVALID_PARAMETER_VALUE, f"Invalid path {path!r}: it is a folder; list it instead."
        )
    return found.key


async def download_artifact(request: Request) -> Response:
    """``GET .../artifacts/<path>``: stream one file."""
    try:
        key = await run_in_threadpool(_file_key, request)
        return await download(
            services_of(request).artifacts,
            key,
            posixpath.basename(key),
            media_type=media_type_for(key),
        )
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)


async def upload_artifact(request: Request) -> Response:
    """``PUT .../artifacts/<path>``: store the request body as one file, streamed."""
    try:
        services = services_of(request)
        actor = actor_of(request.scope)
        found = await run_in_threadpool(
            _owned_key,
            services,
            actor,
            request.path_params["path"],
            writable=True,
            allow_root=False,
        )
        info = await upload(
            request, services.artifacts, found.key, max_mb=services.settings.max_upload_mb
        )
        await run_in_threadpool(_record, services, actor, found, "uploaded", info.size)
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)
    return Response(_EMPTY, media_type="application/json")


def _delete(request: Request) -> None:
    services = services_of(request)
    actor = actor_of(request.scope)
    found = _owned_key(services, actor, request.path_params["path"], writable=True, allow_root=True)
    services.artifacts.delete(found.key)
    _record(services, actor, found, "deleted", None)


async def delete_artifact(request: Request) -> Response:
    """``DELETE .../artifacts/<path>``: remove a file or a folder with everything in it."""
    try:
        await run_in_threadpool(_delete, request)
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)
    return Response(_EMPTY, media_type="application/json")


# -- the tracking API's listing ------------------------------------------------------------------


def _services(services: Services) -> Services:
    return services


def list_run_artifacts(services: Services, actor: Actor, fields: Fields) -> dict[str, Any]:
    """``GET /api/2.0/mlflow/artifacts/list?run_id=&path=``: a folder of a run's artifacts,
    each path relative to the run's root (older clients and scripts list artifacts this way)."""
    run_id = fields.run_id()
    path = fields.string("path").rstrip("/")
    try:
        relative = normalize_artifact_path(path, allow_root=True) if path else ""
    except InvalidArgument as exc:
        # MLflow's own words, which its clients and tests match exactly.
        raise MlflowError(INVALID_PARAMETER_VALUE, "Invalid path") from exc
    root = services.tracking.artifact_prefix(actor, run_id)
    key = join_artifact_path(root, relative) if relative else root
    return {"root_uri": to_artifact_uri(root), "files": _entries(services, key, relative)}


ENDPOINTS: Final = (Endpoint("artifacts/list", ("GET",), list_run_artifacts, _services),)
