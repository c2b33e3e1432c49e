"""Publishing: a file's parts become ``<output>/<name>.out``, and the manifest comes last.

A file's output is the concatenation of its shards' part files in shard order, so it is in
input order whichever worker finished first. It is streamed to the output store, hashed on the
way, with the store's all-or-nothing write (a temporary file renamed, or an S3 multipart upload
that is aborted on failure): a reader never sees a partial output. ``_manifest.json`` is written
only when every file is published; its presence is what says the job is complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.artifacts import ArtifactStore
from dockyard.runtime.batch._result import BadRecord, FileReport

__all__ = ["MANIFEST", "PartsReader", "manifest_body", "output_uri", "publish"]

MANIFEST = "_manifest.json"
MANIFEST_FORMAT = "dockyard.runtime.batch.manifest/1"
_CHUNK = 1024 * 1024


class PartsReader:
    """Reads several files as one stream, computing its sha256 and size as it goes."""

    def __init__(self, parts: Sequence[Path]) -> None:
        self._parts = list(parts)
        self._current: Any = None
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (``-1``: a chunk); ``b""`` at the end of the last part."""
        want = _CHUNK if size is None or size < 0 else size
        while True:
            if self._current is None:
                if not self._parts:
                    return b""
                self._current = self._parts.pop(0).open("rb")
            data: bytes = self._current.read(want)
            if data:
                self._hash.update(data)
                self.size += len(data)
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        """Close the open part, if any."""
        if self._current is not None:
            self._current.close()
            self._current = None

    def hexdigest(self) -> str:
        """The sha256 of everything read."""
        return self._hash.hexdigest()


def publish(store: ArtifactStore, key: str, parts: Sequence[Path]) -> tuple[str, int]:
    """Write the concatenated ``parts`` to ``key``; return its sha256 and size."""
    reader = PartsReader(parts)
    try:
        store.put_stream(key, reader)
    finally:
        reader.close()
    return reader.hexdigest(), reader.size


def output_uri(base: str, key: str) -> str:
    """The URI of output ``key`` under the output folder or prefix ``base``."""
    return f"{base.rstrip('/')}/{key}"


def manifest_body(
    *,
    model_uri: str,
    model_digest: str,
    input_uri: str,
    output: str,
    content_type: str,
    accept: str,
    files: Sequence[FileReport],
    bad_records: int,
    reported: Sequence[BadRecord],
) -> bytes:
    """The manifest: per-file counts and digests, reported bad records, and totals."""
    body = {
        "format": MANIFEST_FORMAT,
        "model_uri": model_uri,
        "model_digest": model_digest,
        "input_uri": input_uri,
        "output_uri": output,
        "content_type": content_type,
        "accept": accept,
        "files": [
            {
                "input": f.input_uri,
                "output": f.output_uri,
                "records": f.records,
                "bad_records": f.bad_records,
                "bytes_in": f.bytes_in,
                "bytes_out": f.bytes_out,
                "sha256": f.sha256,
            }
            for f in files
        ],
        "bad_records": [{"uri": b.uri, "line": b.line, "reason": b.reason} for b in reported],
        "totals": {
            "files": len(files),
            "records": sum(f.records for f in files),
            "bad_records": bad_records,
            "bytes_in": sum(f.bytes_in for f in files),
            "bytes_out": sum(f.bytes_out for f in files),
        },
    }
    return json.dumps(body, indent=2).encode()
