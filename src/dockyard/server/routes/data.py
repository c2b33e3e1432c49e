"""Uploading data for jobs: ``PUT /api/v1/data/{path}`` (``dy.upload_data``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from dockyard.artifacts import ArtifactStore, LocalArtifactStore, S3ArtifactStore
from dockyard.artifacts import normalize_artifact_path as normalize
from dockyard.server._deps import ServicesDep
from dockyard.server._streaming import upload

router = APIRouter(prefix="/api/v1/data", tags=["data"])

_ROOT = "data"


class Uploaded(BaseModel):
    uri: str
    prefix_uri: str
    size: int | None


def store_uri(store: ArtifactStore, key: str) -> str:
    """The URI a job uses to read ``key`` of the store directly (a path, or s3://)."""
    if isinstance(store, LocalArtifactStore):
        return str(store.root / key)
    if isinstance(store, S3ArtifactStore):
        return f"s3://{store.bucket}/{'/'.join(p for p in (store.prefix, key) if p)}"
    raise NotImplementedError(type(store).__name__)


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
        uri=store_uri(services.artifacts, key),
        prefix_uri=store_uri(services.artifacts, top),
        size=info.size,
    )
