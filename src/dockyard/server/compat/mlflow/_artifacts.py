"""MLflow's proxied artifact endpoints: ``/api/2.0/mlflow-artifacts/artifacts[/<path>]``.

Runs present their artifact URI as ``mlflow-artifacts:/<experiment>/<run>/artifacts``, so the
client addresses artifacts by artifact-store key. A key is served only when it lies inside a run's
artifact folder and the tracking service confirms that folder belongs to that run (writes also need
the run to be active): the store's other keys are not reachable through this door. Paths are
checked by :func:`normalize_artifact_path`, which refuses ``..`` escapes and absolute paths.
"""

from __future__ import annotations

import posixpath
from typing import Any, Final

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dockyard.artifacts import normalize_artifact_path
from dockyard.auth import Actor
from dockyard.server._auth import actor_of
from dockyard.server._streaming import download, upload
from dockyard.server.compat.mlflow._endpoint import services_of
from dockyard.server.compat.mlflow._errors import (
    INVALID_PARAMETER_VALUE,
    MlflowError,
    error_response,
)
from dockyard.tracking import TrackingService

__all__ = ["delete_artifact", "download_artifact", "list_artifacts", "upload_artifact"]

_RUN_FOLDER: Final = "artifacts"
_EMPTY: Final = b"{}"


def _run_key(
    tracking: TrackingService, actor: Actor, path: str, *, writable: bool, allow_root: bool
) -> str:
    """The store key for ``path``, once the service vouches for the run folder it lies in."""
    key = normalize_artifact_path(path, allow_root=True)
    parts = key.split("/", 3)
    if len(parts) < 3 or parts[2] != _RUN_FOLDER or (len(parts) == 3 and not allow_root):
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid path {path!r}: artifacts live under <experiment_id>/<run_id>/artifacts/.",
        )
    root = "/".join(parts[:3])
    if tracking.artifact_prefix(actor, parts[1], writable=writable) != root:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid path {path!r}: run {parts[1]} keeps its artifacts elsewhere.",
        )
    return key


def _list(request: Request, path: str) -> bytes:
    services = services_of(request)
    key = _run_key(
        services.tracking, actor_of(request.scope), path, writable=False, allow_root=True
    )
    files: list[dict[str, Any]] = []
    # MLflow lists names relative to the folder asked for; the client joins them back on.
    for entry in services.artifacts.list(key):
        item: dict[str, Any] = {"path": posixpath.basename(entry.path), "is_dir": entry.is_dir}
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return orjson.dumps({"files": files})


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
    key = _run_key(
        services.tracking, actor_of(request.scope), path, writable=False, allow_root=False
    )
    if services.artifacts.stat(key).is_dir:
        raise MlflowError(
            INVALID_PARAMETER_VALUE, f"Invalid path {path!r}: it is a folder; list it instead."
        )
    return key


async def download_artifact(request: Request) -> Response:
    """``GET .../artifacts/<path>``: stream one file."""
    try:
        key = await run_in_threadpool(_file_key, request)
        return await download(services_of(request).artifacts, key, posixpath.basename(key))
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)


async def upload_artifact(request: Request) -> Response:
    """``PUT .../artifacts/<path>``: store the request body as one file, streamed."""
    try:
        services = services_of(request)
        actor = actor_of(request.scope)
        key = await run_in_threadpool(
            _run_key,
            services.tracking,
            actor,
            request.path_params["path"],
            writable=True,
            allow_root=False,
        )
        info = await upload(
            request, services.artifacts, key, max_mb=services.settings.max_upload_mb
        )
        await run_in_threadpool(
            services.tracking.record_artifact_change,
            actor,
            key.split("/", 2)[1],
            "uploaded",
            key.split("/", 3)[3],
            info.size,
        )
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)
    return Response(_EMPTY, media_type="application/json")


def _delete(request: Request) -> None:
    services = services_of(request)
    actor = actor_of(request.scope)
    key = _run_key(
        services.tracking, actor, request.path_params["path"], writable=True, allow_root=True
    )
    services.artifacts.delete(key)
    parts = key.split("/", 3)
    services.tracking.record_artifact_change(
        actor, parts[1], "deleted", parts[3] if len(parts) > 3 else ""
    )


async def delete_artifact(request: Request) -> Response:
    """``DELETE .../artifacts/<path>``: remove a file or a folder with everything in it."""
    try:
        await run_in_threadpool(_delete, request)
    except Exception as exc:  # MLflow's error body for every failure
        return error_response(exc, request)
    return Response(_EMPTY, media_type="application/json")
