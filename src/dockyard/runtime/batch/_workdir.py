"""The work directory: a transform's durable state, which is what makes it resumable.

Layout::

    plan.json             the files and shards, fixed by the first run (see ``_plan``)
    parts/<shard>.part    a shard's output, complete once its marker exists
    done/<shard>.json     a shard's marker: counts and bad records, written after its part
    published/<file>.json a file's output was published (its digest and counts)
    staged/<file>         downloaded copies of s3:// inputs
    runtime/              the code the workers import (see ``_env``)
    result.json           the completed result; a later run just returns it
    .lock                 held by the running transform and its workers

Markers are written atomically (temporary file, fsync, rename) after what they vouch for, so a
crash at any point leaves a state in which every marker is true. A resumed run skips shards
with markers and files that are published, and redoes everything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard.errors import Conflict

__all__ = ["WorkDir", "write_atomically"]

_LOCK_WAIT_S = 10.0


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers and crashes see the old or the new content."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class WorkDir:
    """Paths and markers of one transform's work directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("parts", "done", "published", "staged"):
            (root / name).mkdir(parents=True, exist_ok=True)

    @property
    def plan(self) -> Path:
        """The plan file."""
        return self.root / "plan.json"

    @property
    def result(self) -> Path:
        """The completed result."""
        return self.root / "result.json"

    @property
    def staged(self) -> Path:
        """Where ``s3://`` inputs are downloaded."""
        return self.root / "staged"

    def part(self, shard: str) -> Path:
        """A shard's output file."""
        return self.root / "parts" / f"{shard}.part"

    def marker(self, shard: str) -> Path:
        """A shard's completion marker."""
        return self.root / "done" / f"{shard}.json"

    def done(self) -> dict[str, dict[str, Any]]:
        """Markers of finished shards, by shard id."""
        out = {}
        for path in (self.root / "done").glob("*.json"):
            out[path.stem] = json.loads(path.read_text())
        return out

    def published(self) -> dict[int, dict[str, Any]]:
        """Published files, by file index."""
        out = {}
        for path in (self.root / "published").glob("*.json"):
            out[int(path.stem)] = json.loads(path.read_text())
        return out

    def mark_published(self, file: int, body: dict[str, Any]) -> None:
        """Record that a file's output is published."""
        path = self.root / "published" / f"{file:05d}.json"
        write_atomically(path, json.dumps(body).encode())

    def forget(self, shard: str) -> None:
        """Drop a shard's part and marker (a marker whose part is gone must be redone)."""
        self.marker(shard).unlink(missing_ok=True)
        self.part(shard).unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[int]:
        """Hold the work directory's lock; yields its file descriptor (workers inherit it).

        Raises:
            Conflict: Another transform (or a worker it left) holds it for over 10 seconds.
        """
        handle = (self.root / ".lock").open("a")
        deadline = time.monotonic() + _LOCK_WAIT_S
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # A killed run's workers may take a moment to die (and release it).
                    if time.monotonic() > deadline:
                        raise Conflict(f"another transform is running in {self.root}") from None
                    time.sleep(0.1)
            yield handle.fileno()
        finally:
            handle.close()
