"""Uploading data for jobs: ``PUT /api/v1/data/{path}`` (``dy.upload_data``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from dockyard.artifacts import artifact_uri
from dockyard.artifacts import normalize_artifact_path as normalize
from dockyard.server._deps import ServicesDep
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
    prefix: Annotated[str | None, Query(max_length=1024)] = None,
) -> Uploaded:
    """Store the body under ``data/<path>``; answers the URIs of the file and of ``prefix``."""
    key = f"{_ROOT}/{normalize(path)}"
    info = await upload(request, services.artifacts, key)
    top = f"{_ROOT}/{normalize(prefix)}" if prefix else key.rsplit("/", 1)[0]
    return Uploaded(
        uri=artifact_uri(services.artifacts, key),
        prefix_uri=artifact_uri(services.artifacts, top),
        size=info.size,
    )
