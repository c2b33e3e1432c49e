"""Registered files through MLflow's artifact door: ``mlflow-artifacts:/registry/...``, read-only.

A version's download URI names the registry's own copy of its package. These routes serve those
keys (and nothing else under ``registry/``) only while they lie inside a ready version's files,
checked by :meth:`~dockyard.server.registry.RegistryService.storage_key`; writes and deletes stay
with the run-artifact door, which refuses any key outside a run's folder.
"""

from __future__ import annotations

import posixpath
from typing import Any, Final

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dockyard.server._auth import actor_of
from dockyard.server._streaming import download
from dockyard.server.compat.mlflow._endpoint import services_of
from dockyard.server.compat.mlflow._errors import (
    INVALID_PARAMETER_VALUE,
    MlflowError,
    error_response,
)
from dockyard.server.compat.mlflow._mime import media_type_for
from dockyard.server.compat.mlflow._registry import Endpoint

__all__ = ["artifact_routes"]

_REGISTRY_DIR: Final = "registry"


def _list_registry(request: Request, path: str) -> bytes:
    services = services_of(request)
    key = services.registry.storage_key(actor_of(request.scope), path)
    files: list[dict[str, Any]] = []
    for entry in services.artifacts.list(key):
        item: dict[str, Any] = {"path": posixpath.basename(entry.path), "is_dir": entry.is_dir}
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return orjson.dumps({"files": files})


def _file_key(request: Request) -> str:
    services = services_of(request)
    key = services.registry.storage_key(
        actor_of(request.scope), f"{_REGISTRY_DIR}/{request.path_params['path']}"
    )
    if services.artifacts.stat(key).is_dir:
        raise MlflowError(INVALID_PARAMETER_VALUE, f"Invalid path {key!r}: it is a folder.")
    return key


def artifact_routes(base: str, run_listing: Endpoint) -> tuple[tuple[str, Endpoint], ...]:
    """Read-only routes for registered files under MLflow's artifact door at ``base``.

    Add them before the run-artifact routes: the listing answers ``?path=registry/...`` and
    hands every other path to ``run_listing``; downloads take ``base/registry/...``. A key is
    served only while it lies inside a ready version's files.
    """

    async def listing(request: Request) -> Response:
        path = request.query_params.get("path", "")
        if path.strip("/").split("/", 1)[0] != _REGISTRY_DIR:
            return await run_listing(request)
        try:
            body = await run_in_threadpool(_list_registry, request, path)
        except Exception as exc:  # MLflow's error body for every failure
            return error_response(exc, request)
        return Response(body, media_type="application/json")

    async def registered_file(request: Request) -> Response:
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

    return ((base, listing), (f"{base}/{_REGISTRY_DIR}/{{path:path}}", registered_file))
