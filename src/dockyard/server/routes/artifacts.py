"""Native REST routes for a run's artifacts: ``/api/v1/runs/{run_id}/artifacts``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.artifacts import ArtifactStore
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._streaming import download_under, upload

router = APIRouter(
    prefix="/api/v1/runs/{run_id}/artifacts", tags=["artifacts"], route_class=OneHopRoute
)


class FileInfo(BaseModel):
    path: str
    is_dir: bool
    file_size: int | None = None


class ArtifactList(BaseModel):
    root_uri: str
    files: list[FileInfo]


def _relative(prefix: str, key: str) -> str:
    return key[len(prefix) + 1 :] if key.startswith(prefix + "/") else key


@router.get("")
async def list_artifacts(
    run_id: str,
    services: ServicesDep,
    actor: ActorDep,
    path: Annotated[str, Query(max_length=4096)] = "",
    recursive: bool = False,
) -> ArtifactList:
    """Files and folders under ``path`` in the run's artifacts."""
    prefix = await run_in_threadpool(services.tracking.artifact_prefix, actor, run_id)
    return await files_under(services.artifacts, prefix, path, recursive=recursive)


async def files_under(
    store: ArtifactStore, prefix: str, path: str, *, recursive: bool = False
) -> ArtifactList:
    """The files and folders under ``path`` (a user's, checked) in the folder ``prefix``, named
    relative to it: a run's artifacts, a logged model's files."""
    sub = normalize_artifact_path(path, allow_root=True)
    key = f"{prefix}/{sub}" if sub else prefix
    entries = await run_in_threadpool(store.list, key, recursive=recursive)
    files = [
        FileInfo(path=_relative(prefix, e.path), is_dir=e.is_dir, file_size=e.size) for e in entries
    ]
    return ArtifactList(root_uri=prefix, files=files)


@router.put("/{path:path}")
async def put_artifact(
    run_id: str, path: str, request: Request, services: ServicesDep, actor: ActorDep
) -> FileInfo:
    """Upload one file (the raw request body) to ``path`` in the run's artifacts."""
    prefix = await run_in_threadpool(
        services.tracking.artifact_prefix, actor, run_id, writable=True
    )
    sub = normalize_artifact_path(path)
    info = await upload(
        request, services.artifacts, f"{prefix}/{sub}", max_mb=services.settings.max_upload_mb
    )
    await run_in_threadpool(
        services.tracking.record_artifact_change, actor, run_id, "uploaded", sub, info.size
    )
    return FileInfo(path=sub, is_dir=False, file_size=info.size)


@router.get("/{path:path}", response_model=None)
async def get_artifact(
    run_id: str, path: str, services: ServicesDep, actor: ActorDep
) -> StreamingResponse:
    """Download one file of the run's artifacts."""
    prefix = await run_in_threadpool(services.tracking.artifact_prefix, actor, run_id)
    return await download_under(services.artifacts, prefix, path)
