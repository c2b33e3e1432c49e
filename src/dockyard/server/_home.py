"""``DOCKYARD_HOME``'s permissions: the server's state is the server user's alone.

The home holds the SQLite database, the local artifact store, caches and every job's folder.
Whatever Dockyard creates at its top level gets a mode set here, on every start (so an existing
home is tightened too): the home and its folders 0700, the database files 0600. With
``DOCKYARD_JOB_USER`` the job user must still reach its own job folder and the cached job
environments, so the home and ``jobs/`` become 0711 (enter, but not list) and ``envs/`` 0755;
the database and the other folders stay shut (see ``dockyard.api.jobs._user`` for a job's folder).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from dockyard.settings import Settings

__all__ = ["secure_home"]

_PRIVATE_FOLDERS = ("cache", "endpoints")


def _sqlite_file(settings: Settings) -> Path | None:
    url = settings.resolved_database_url
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _database_files(database: Path) -> list[Path]:
    return [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]


def secure_home(settings: Settings, *, before_database: bool) -> None:
    """Create ``home`` and set the modes of what Dockyard keeps there.

    Called twice at start: before the database is opened (``before_database``: an empty,
    private database file exists first, so SQLite's journal files inherit its mode) and after.
    """
    shared = settings.job_user is not None
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o711 if shared else 0o700)
    database = _sqlite_file(settings)
    if before_database:
        if database is not None and not database.exists():
            database.parent.mkdir(parents=True, exist_ok=True)
            database.touch(mode=0o600)
        private = list(_PRIVATE_FOLDERS)
        if settings.artifact_root is None:
            private.append("artifacts")  # the default store, in the home
        for name in private:
            (home / name).mkdir(mode=0o700, exist_ok=True)
            (home / name).chmod(0o700)
        for name, mode in (
            ("jobs", 0o711 if shared else 0o700),
            ("envs", 0o755 if shared else 0o700),
        ):
            (home / name).mkdir(mode=mode, exist_ok=True)
            (home / name).chmod(mode)
    if database is not None:
        for file in _database_files(database):
            with contextlib.suppress(FileNotFoundError):
                file.chmod(0o600)
