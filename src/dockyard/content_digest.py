"""The digest of a file or folder by content: every file's relative path, size and sha256.

The SDK addresses its uploads by it (``data/<key prefix>/<digest>/``), and a job's runner
records each fetched input channel as a dataset of the job's run with it, so the same files
give the same digest wherever they are read.

A caller may keep files' hashes between calls (:class:`FileHashes`): the SDK does, so running
a script again over the same large data reads none of it (see
:mod:`dockyard.client.sdk._hashes`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

__all__ = ["DIGEST_CHARS", "FileHashes", "digest_of", "files_of", "sha256_of"]

#: Hex characters kept of the sha256.
DIGEST_CHARS = 16


class FileHashes(Protocol):
    """Files' sha256 kept by what ``os.stat`` says of them."""

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        """The hash kept for ``path`` as ``stat`` describes it, if any."""

    def put(self, path: Path, stat: os.stat_result, sha256: str) -> None:
        """Keep ``sha256`` for ``path`` as ``stat`` described it while it was read."""


def files_of(local: Path) -> list[tuple[str, Path]]:
    """The files under ``local`` (or ``local`` itself, a file), with their relative paths, in
    path order."""
    if local.is_file():
        return [(local.name, local)]
    return sorted((p.relative_to(local).as_posix(), p) for p in local.rglob("*") if p.is_file())


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file ``path``."""
    content = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            content.update(block)
    return content.hexdigest()


def digest_of(files: list[tuple[str, Path]], hashes: FileHashes | None = None) -> str:
    """The digest of ``files`` (as :func:`files_of` lists them); ``hashes`` answers for the
    files it knows unchanged and keeps those read (when nothing changed them meanwhile)."""
    whole = hashlib.sha256()
    for relative, path in files:
        before = path.stat()
        content = None if hashes is None else hashes.get(path, before)
        if content is None:
            content = sha256_of(path)
            if hashes is not None and _same(before, path.stat()):
                hashes.put(path, before, content)
        whole.update(f"{relative}\0{before.st_size}\0{content}\n".encode())
    return whole.hexdigest()[:DIGEST_CHARS]


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino, a.st_dev) == (
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
        b.st_ino,
        b.st_dev,
    )
