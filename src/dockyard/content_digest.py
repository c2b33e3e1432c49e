"""The digest of a file or folder by content: every file's relative path, size and sha256.

The SDK addresses its uploads by it (``data/<key prefix>/<digest>/``), and a job's runner
records each fetched input channel as a dataset of the job's run with it, so the same files
give the same digest wherever they are read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["DIGEST_CHARS", "digest_of", "files_of"]

#: Hex characters kept of the sha256.
DIGEST_CHARS = 16


def files_of(local: Path) -> list[tuple[str, Path]]:
    """The files under ``local`` (or ``local`` itself, a file), with their relative paths, in
    path order."""
    if local.is_file():
        return [(local.name, local)]
    return sorted((p.relative_to(local).as_posix(), p) for p in local.rglob("*") if p.is_file())


def digest_of(files: list[tuple[str, Path]]) -> str:
    """The digest of ``files`` (as :func:`files_of` lists them)."""
    whole = hashlib.sha256()
    for relative, path in files:
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        whole.update(f"{relative}\0{path.stat().st_size}\0{content.hexdigest()}\n".encode())
    return whole.hexdigest()[:DIGEST_CHARS]
