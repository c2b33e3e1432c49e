"""One leader per metadata database for a kind of background work (the job scheduler, the
endpoint supervisor), however many server processes run.

SQLite: a lock file beside the database file (all processes share the machine), so servers
that share the database elect one leader whatever their ``DOCKYARD_HOME``. PostgreSQL: a session
advisory lock, so server processes on different machines agree too. The lock dies with its
process, so a follower takes over when the leader goes away.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from dockyard.server.store._database import Database

__all__ = ["LeaderLock"]


class LeaderLock:
    """A non-blocking, process-lifetime lock named ``name``."""

    def __init__(self, db: Database, home: Path, name: str) -> None:
        """``home`` holds the lock only for an in-memory SQLite database (one process's own)."""
        self._db = db
        self._path = _lock_path(db, home, name)
        # Advisory locks take a 64-bit key: derive a stable one from the name.
        self._key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")
        self._file: IO[str] | None = None
        self._conn: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process now leads."""
        if self._db.dialect == "postgresql":
            conn = self._db.write_engine.connect()
            if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar():
                # The lock is the session's: end the transaction the query began, which a
                # database with idle_in_transaction_session_timeout would otherwise end by
                # ending the session, and the lead with it.
                conn.commit()
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

    def held(self) -> bool:
        """Whether this process still leads. A PostgreSQL advisory lock lives as long as its
        session: when the database restarts or drops the session, the lock is gone (another
        process may take it) and this answers False; a lock file lasts as long as the process."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except Exception:
            self._conn.invalidate()
            self._conn.close()
            self._conn = None
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # Closing only returns the connection to the pool, where its session (and so the
            # lock) would live on: unlock explicitly, or drop the session if that fails.
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                self._conn.commit()
            except Exception:
                self._conn.invalidate()
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


def _lock_path(db: Database, home: Path, name: str) -> Path:
    database = make_url(db.url).database if db.dialect == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return home / f"{name}.lock"
    # Resolved, so that two spellings of one file (relative, through a symlink) share a lock.
    path = Path(database).resolve()
    return path.with_name(f"{path.name}.{name}.lock")
