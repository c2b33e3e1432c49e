"""One leader per metadata database for a kind of background work (the job scheduler, the
endpoint supervisor), however many server processes run.

SQLite: a lock file beside the home folder (all processes share the machine). PostgreSQL: a
session advisory lock, so server processes on different machines agree too. The lock dies with
its process, so a follower takes over when the leader goes away.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from dockyard.store._database import Database

__all__ = ["LeaderLock"]


class LeaderLock:
    """A non-blocking, process-lifetime lock named ``name``."""

    def __init__(self, db: Database, home: Path, name: str) -> None:
        self._db = db
        self._path = home / f"{name}.lock"
        # Advisory locks take a 64-bit key: derive a stable one from the name.
        self._key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")
        self._file: IO[str] | None = None
        self._conn: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process now leads."""
        if self._db.dialect == "postgresql":
            conn = self._db.write_engine.connect()
            if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar():
                self._conn = conn
                return True
            conn.close()
            return False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None
