"""The backends the artifact tests run against, with what only each backend can tell."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.artifacts import ArtifactStore
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.artifacts.s3 import S3ArtifactStore
from tests.services.s3 import S3Server

# Every S3 test store lives under runs/<32 hex digits>/ of the session's bucket.
_TEST_PREFIX = re.compile(r"^runs/[0-9a-f]{32}/")


@dataclass(frozen=True)
class Backend:
    """A fresh, empty store under test.

    Attributes:
        name: ``"local"`` or ``"s3"``.
        store: The store.
        stored_outside: Lists what exists beside the store's root, where a key that escaped
            would land.
        upload_parts: For S3, how many multipart parts an object was uploaded in (1 for a plain
            PUT); ``None`` for backends without the notion.
    """

    name: str
    store: ArtifactStore
    stored_outside: Callable[[], list[str]]
    upload_parts: Callable[[str], int] | None


def local_backend(tmp_path: Path) -> Backend:
    """A local store at ``tmp_path/sandbox/artifacts``; the sandbox catches escapes."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    root = sandbox / "artifacts"

    def stored_outside() -> list[str]:
        return sorted(
            str(path.relative_to(sandbox))
            for path in sandbox.rglob("*")
            if not path.is_relative_to(root)
        )

    return Backend("local", LocalArtifactStore(root), stored_outside, None)


def s3_backend(server: S3Server, bucket: str) -> Backend:
    """An S3 store under a fresh prefix of ``bucket``."""
    prefix = f"runs/{uuid.uuid4().hex}"
    store = S3ArtifactStore(f"s3://{bucket}/{prefix}", endpoint_url=server.endpoint_url)

    def stored_outside() -> list[str]:
        pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        keys = (obj["Key"] for page in pages for obj in page.get("Contents", ()))
        return sorted(key for key in keys if not _TEST_PREFIX.match(key))

    def upload_parts(key: str) -> int:
        # A multipart upload's ETag is "<md5 of the part md5s>-<number of parts>".
        etag = server.client().head_object(Bucket=bucket, Key=f"{prefix}/{key}")["ETag"]
        _, dash, parts = etag.strip('"').partition("-")
        return int(parts) if dash else 1

    return Backend("s3", store, stored_outside, upload_parts)
