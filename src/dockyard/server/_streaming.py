"""Moving request and response bodies between HTTP and the artifact store in bounded memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from dockyard.artifacts import ArtifactInfo, ArtifactStore

__all__ = ["download", "upload"]

_CHUNK = 1024 * 1024
# Small uploads stay in memory; larger ones spill to a temp file so memory stays flat.
_SPOOL = 8 * 1024 * 1024


async def upload(request: Request, store: ArtifactStore, key: str) -> ArtifactInfo:
    """Store the request body under ``key``, streamed through a spooled temp file."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            await run_in_threadpool(spool.write, chunk) if size > _SPOOL else spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(store.put_stream, key, spool, size)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()


async def download(store: ArtifactStore, key: str, filename: str) -> StreamingResponse:
    """Stream the artifact at ``key`` as the response body."""
    info = await run_in_threadpool(store.stat, key)
    stream = await run_in_threadpool(store.open_read, key)
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    if info.size is not None:
        headers["content-length"] = str(info.size)
    return StreamingResponse(
        _chunks(stream), media_type="application/octet-stream", headers=headers
    )
