"""Moving request and response bodies between HTTP and the artifact store in bounded memory."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from dockyard.artifacts import ArtifactInfo, ArtifactStore
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.errors import InvalidArgument, PayloadTooLarge

__all__ = ["download", "download_under", "upload"]

_MIB = 1024 * 1024
_CHUNK = _MIB
# Small uploads stay in memory; larger ones spill to a temp file so memory stays flat.
_SPOOL = 8 * 1024 * 1024


async def upload(request: Request, store: ArtifactStore, key: str, *, max_mb: int) -> ArtifactInfo:
    """Store the request body under ``key``, streamed through a spooled temp file.

    The store sees the body only once all of it has arrived within ``max_mb`` MiB, so an upload
    refused or cut off part way leaves nothing behind.

    Raises:
        PayloadTooLarge: The declared ``Content-Length``, or the bytes that arrived, exceed
            ``max_mb`` MiB. The response does not close the connection: the client, which
            usually sends its whole body before it reads an answer, then sees the 413 rather
            than a reset, while the server reads the rest without keeping it.
    """
    limit = max_mb * _MIB
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(max_mb, f"the upload declares {int(declared)} bytes, over")
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(max_mb, "the upload is over")
            await run_in_threadpool(spool.write, chunk) if size > _SPOOL else spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(store.put_stream, key, spool, size)


def _too_large(max_mb: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} the server's {max_mb} MiB upload limit (DOCKYARD_MAX_UPLOAD_MB)",
        field="body",
        details={"limit_bytes": max_mb * _MIB},
    )


# What may stand inside a quoted ``filename="..."`` for every client: printable ASCII without the
# quote and backslash (which old clients do not unescape) and without ``%`` (which some decode).
_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\%]')


def _content_disposition(filename: str) -> str:
    """An ``attachment`` header value for ``filename``, whatever its characters (RFC 6266).

    HTTP headers are latin-1 on the wire, so a name such as ``数据.csv`` cannot go in the
    plain ``filename`` parameter. It gets an ASCII fallback there (unsafe characters become
    ``_``) plus the exact name as ``filename*=UTF-8''<percent-encoded>`` (RFC 5987), which
    browsers and ``curl -J`` prefer when present.
    """
    fallback = _UNSAFE.sub("_", filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()


async def download(
    store: ArtifactStore,
    key: str,
    filename: str,
    *,
    media_type: str = "application/octet-stream",
) -> StreamingResponse:
    """Stream the artifact at ``key`` as the response body, as an attachment of ``media_type``.

    Browsers must neither sniff another type from the bytes nor run what they render: an
    uploaded file is the uploader's content, not the server's.
    """
    headers = {
        "content-disposition": _content_disposition(filename),
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
        # Set as given: Starlette would add "; charset=utf-8" to text types, a charset the
        # server does not know (the bytes are the uploader's).
        "content-type": media_type,
    }
    info = await run_in_threadpool(store.stat, key)
    if info.size is not None:
        headers["content-length"] = str(info.size)
    # Opened last: nothing between here and the response may raise and leak the handle.
    stream = await run_in_threadpool(store.open_read, key)
    return StreamingResponse(_chunks(stream), headers=headers)


async def download_under(store: ArtifactStore, prefix: str, path: str) -> StreamingResponse:
    """Stream the file at ``path`` (a user's, checked) under ``prefix``; a folder is refused."""
    sub = normalize_artifact_path(path)
    key = f"{prefix}/{sub}"
    info = await run_in_threadpool(store.stat, key)
    if info.is_dir:
        raise InvalidArgument(f"{sub!r} is a folder; list it instead", field="path")
    return await download(store, key, sub.rsplit("/", 1)[-1])
