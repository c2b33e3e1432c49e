"""Files' hashes kept between runs of a script: ``<DOCKYARD_HOME>/cache/file-hashes.sqlite``.

An upload is addressed by its content's digest (:mod:`dockyard.content_digest`), so a script
that sends the same 10 GB folder on every run read all of it each time only to find the store
held it already. As ``git`` does with its index, a file whose size, modification and change
times, inode and device are those recorded when it was read is taken to hold what it held
then. Two rules keep that true:

- A file changed in the last :data:`SETTLE_S` seconds is read but not kept: file times tick
  coarsely (a kernel's clock tick), and a change within the same tick as the read would leave
  them as they were.
- Small files are read each time (under :data:`MIN_BYTES`, reading costs less than asking).

The cache is an optimisation only: a file it cannot open, lock or write is read as before.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

__all__ = ["MIN_BYTES", "SETTLE_S", "StoredHashes"]

#: Files smaller than this are hashed every time.
MIN_BYTES = 1 << 20
#: A file modified more recently than this is hashed but its hash is not kept.
SETTLE_S = 2.0
#: Rows kept at most; past it the least recently used half goes.
_MAX_ROWS = 100_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    device INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    used REAL NOT NULL
)
"""


class StoredHashes:
    """A :class:`~dockyard.content_digest.FileHashes` in a SQLite file, shared by processes.

    Args:
        path: The database file (made, with its folder, on first use).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
                conn.execute(_SCHEMA)
                self._conn = conn
            except (OSError, sqlite3.Error):
                self._broken = True
        return self._conn

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        if stat.st_size < MIN_BYTES:
            return None
        conn = self._open()
        if conn is None:
            return None
        key = str(path.resolve())
        try:
            row = conn.execute(
                "SELECT size, mtime_ns, ctime_ns, inode, device, sha256 FROM hashes WHERE path = ?",
                (key,),
            ).fetchone()
            if row is None or tuple(row[:5]) != _identity(stat):
                return None
            conn.execute("UPDATE hashes SET used = ? WHERE path = ?", (time.time(), key))
        except sqlite3.Error:
            return None
        return str(row[5])

    def put(self, path: Path, stat: os.stat_result, sha256: str) -> None:
        if stat.st_size < MIN_BYTES or time.time_ns() - stat.st_mtime_ns < SETTLE_S * 1e9:
            return
        conn = self._open()
        if conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            conn.execute(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (str(path.resolve()), *_identity(stat), sha256, time.time()),
            )
            (count,) = conn.execute("SELECT count(*) FROM hashes").fetchone()
            if count > _MAX_ROWS:
                conn.execute(
                    "DELETE FROM hashes WHERE path IN "
                    "(SELECT path FROM hashes ORDER BY used LIMIT ?)",
                    (count - _MAX_ROWS // 2,),
                )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _identity(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)
