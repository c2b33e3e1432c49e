"""Uploading data for jobs: ``PUT /api/v1/data/{path}`` (``dy.upload_data``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dockyard.artifacts import artifact_uri
from dockyard.artifacts import normalize_artifact_path as normalize
from dockyard.auth import Role
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._streaming import upload

router = APIRouter(prefix="/api/v1/data", tags=["data"])

_ROOT = "data"


class Uploaded(BaseModel):
    uri: str
    prefix_uri: str
    size: int | None


@router.put("/{path:path}")
async def put_data(
    path: str,
    request: Request,
    services: ServicesDep,
    actor: ActorDep,
    prefix: Annotated[str | None, Query(max_length=1024)] = None,
) -> Uploaded:
    """Store the body under ``data/<path>`` (``data/users/<you>/<path>`` on a server with
    accounts, so nobody overwrites another's data); answers the URIs of the file and of
    ``prefix``."""
    services.access.require_role(actor, Role.MEMBER, "upload data")
    root = f"{_ROOT}/users/{actor.name}" if actor.is_person else _ROOT
    key = f"{root}/{normalize(path)}"
    info = await upload(request, services.artifacts, key)
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
