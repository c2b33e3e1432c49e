"""DOCKYARD_HOME is the server user's alone: modes set on every start."""

from __future__ import annotations

from pathlib import Path

from dockyard.api.tracking import CreateExperiment
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_home_database_and_folders_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "jobs").mkdir(mode=0o755)  # an existing home is tightened too
    services = Services.from_settings(Settings(home=home))
    try:
        actor = Actor.system("test")
        services.tracking.create_experiment(actor, CreateExperiment(name="x"))  # WAL exists now
        assert _mode(home) == 0o700
        for name in ("jobs", "envs", "artifacts", "cache", "endpoints"):
            assert _mode(home / name) == 0o700, name
        files = [home / "dockyard.db", home / "dockyard.db-wal", home / "dockyard.db-shm"]
        assert [_mode(f) for f in files if f.exists()] == [0o600] * len(files)
    finally:
        services.close()


def test_with_a_job_user_jobs_and_envs_can_be_entered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    services = Services.from_settings(Settings(home=home, job_user="nobody"))
    try:
        assert _mode(home) == 0o711  # entered, never listed
        assert _mode(home / "jobs") == 0o711
        assert _mode(home / "envs") == 0o755
        assert _mode(home / "artifacts") == 0o700
        assert _mode(home / "dockyard.db") == 0o600
    finally:
        services.close()
