"""Data for jobs: ``PUT /api/v1/data/{path}`` uploads a file, ``GET /api/v1/data`` lists a prefix.

Clients send local files here (``dy.upload_data``, ``Estimator.fit``, ``dockyard jobs submit``)
and pass the returned store URI in the spec, because the server reads only the artifact store and
its data roots. A client lists the prefix first to skip an upload the store already holds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dockyard.artifacts import artifact_uri
from dockyard.artifacts.paths import normalize_artifact_path as normalize
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._services import Services
from dockyard.server._streaming import upload
from dockyard.server.actor import Actor, Role

router = APIRouter(prefix="/api/v1/data", tags=["data"], route_class=OneHopRoute)

_ROOT = "data"


class Uploaded(BaseModel):
    uri: str
    prefix_uri: str
    size: int | None


class DataFile(BaseModel):
    path: str
    size: int | None


class DataList(BaseModel):
    prefix_uri: str
    files: list[DataFile]


async def _root(services: Services, actor: Actor) -> str:
    """Where the actor's uploads go: its account's personal area (not its name, which a deleted
    account may have had), or the shared ``data/`` of a server without accounts."""
    area = await run_in_threadpool(services.auth.personal_area, actor)
    return _ROOT if area is None else f"{_ROOT}/users/{area}"


@router.get("")
async def list_data(
    services: ServicesDep,
    actor: ActorDep,
    prefix: Annotated[str, Query(min_length=1, max_length=1024)],
) -> DataList:
    """The files stored under ``data/<prefix>`` (in the caller's own area, as uploads are; paths
    relative to it) and the prefix's URI."""
    services.access.require_role(actor, Role.MEMBER, "upload data")
    key = f"{await _root(services, actor)}/{normalize(prefix)}"
    entries = await run_in_threadpool(services.artifacts.list, key, recursive=True)
    files = [
        DataFile(path=e.path[len(key) + 1 :], size=e.size)
        for e in entries
        if not e.is_dir and e.path.startswith(key + "/")
    ]
    return DataList(prefix_uri=artifact_uri(services.artifacts, key), files=files)


@router.put("/{path:path}")
async def put_data(
    path: str,
    request: Request,
    services: ServicesDep,
    actor: ActorDep,
    prefix: Annotated[str | None, Query(max_length=1024)] = None,
) -> Uploaded:
    """Store the body under ``data/<path>`` (``data/users/<your area>/<path>`` on a server with
    accounts, so nobody overwrites another's data); answers the URIs of the file and of
    ``prefix``."""
    services.access.require_role(actor, Role.MEMBER, "upload data")
    root = await _root(services, actor)
    key = f"{root}/{normalize(path)}"
    info = await upload(request, services.artifacts, key, max_mb=services.settings.max_upload_mb)
    await run_in_threadpool(
        services.events.record,
        actor,
        "data.uploaded",
        "data",
        key,
        scope="data",
        body={"size": info.size},
    )
    top = f"{root}/{normalize(prefix)}" if prefix else key.rsplit("/", 1)[0]
    return Uploaded(
        uri=artifact_uri(services.artifacts, key),
        prefix_uri=artifact_uri(services.artifacts, top),
        size=info.size,
    )
