"""The services one server process holds, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.jobs._scheduler import Scheduler
from dockyard.jobs._service import JobService
from dockyard.registry import RegistryService
from dockyard.settings import Settings
from dockyard.store import Database, open_database
from dockyard.tracking import TrackingService

__all__ = ["Services"]


@dataclass(frozen=True)
class Services:
    """Everything a route may call; routes never reach the database or store directly."""

    settings: Settings
    db: Database
    artifacts: ArtifactStore
    tracking: TrackingService
    jobs: JobService
    registry: RegistryService

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        db = open_database(settings.resolved_database_url)
        artifacts = open_artifact_store(
            settings.resolved_artifact_root, s3_endpoint_url=settings.s3_endpoint_url
        )
        tracking = TrackingService(db)
        registry = RegistryService(
            db, tracking, artifacts, s3_endpoint_url=settings.s3_endpoint_url
        )
        jobs = JobService(db, tracking, settings)
        jobs.resolve_model = registry.resolve
        return cls(
            settings=settings,
            db=db,
            artifacts=artifacts,
            tracking=tracking,
            jobs=jobs,
            registry=registry,
        )

    def start_background(self) -> list[Scheduler]:
        """Start the job scheduler (only ``dockyard server`` processes run it)."""
        if not self.settings.scheduler:
            return []
        from dockyard.jobs._executor import LocalExecutor

        scheduler = Scheduler(self.jobs, LocalExecutor(), self.settings, self.settings.server_url)
        scheduler.start()
        return [scheduler]

    def close(self) -> None:
        self.db.dispose()
