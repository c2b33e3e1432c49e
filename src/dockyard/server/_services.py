"""The services one server process holds, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dockyard.artifacts import ArtifactStore, artifact_uri, open_artifact_store
from dockyard.endpoints._service import EndpointService
from dockyard.errors import InvalidArgument, NotFound
from dockyard.jobs._scheduler import Scheduler
from dockyard.jobs._service import JobService
from dockyard.registry import RegistryService
from dockyard.settings import Settings
from dockyard.store import Database, open_database
from dockyard.tracking import TrackingService

__all__ = ["Services"]


class Background(Protocol):
    """Work a server process does besides answering requests (the scheduler, the supervisor)."""

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Services:
    """Everything a route may call; routes never reach the database or store directly."""

    settings: Settings
    db: Database
    artifacts: ArtifactStore
    tracking: TrackingService
    jobs: JobService
    registry: RegistryService
    endpoints: EndpointService

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
        endpoints = EndpointService(db, settings)
        services = cls(
            settings=settings,
            db=db,
            artifacts=artifacts,
            tracking=tracking,
            jobs=jobs,
            registry=registry,
            endpoints=endpoints,
        )
        endpoints.check_model = services.check_model
        return services

    def check_model(self, uri: str, field: str) -> None:
        """Refuse a model URI that names nothing loadable, naming ``field``."""
        from dockyard.jobs._uris import check_readable

        if uri.startswith(("models:/", "runs:/")):
            try:
                self.registry.resolve(uri)
            except (NotFound, InvalidArgument) as exc:
                raise InvalidArgument(f"{uri}: {exc.message}", field=field) from exc
        else:
            check_readable(uri, field, s3_endpoint_url=self.settings.s3_endpoint_url)

    def local_model(self, uri: str) -> tuple[str, str | None]:
        """A verified local package folder for ``uri`` (fetched into the model cache) and the
        digest to check again when it is loaded (None for a plain local folder)."""
        from dockyard.registry._uris import fetch_model_from

        local = fetch_model_from(
            self.settings.server_url,
            uri,
            cache_dir=self.settings.home / "cache" / "models",
            s3_endpoint_url=self.settings.s3_endpoint_url,
        )
        return str(local.path), local.digest

    def start_background(self) -> list[Background]:
        """Start the job scheduler and the endpoint supervisor (``dockyard server`` only)."""
        if not self.settings.scheduler:
            return []
        from dockyard.endpoints._supervisor import Supervisor
        from dockyard.jobs._executor import LocalExecutor

        scheduler = Scheduler(self.jobs, LocalExecutor(), self.settings, self.settings.server_url)
        supervisor = Supervisor(
            self.endpoints,
            self.db,
            self.settings,
            resolve=self.local_model,
            capture_root=artifact_uri(self.artifacts, "capture"),
        )
        scheduler.start()
        supervisor.start()
        return [scheduler, supervisor]

    def close(self) -> None:
        self.db.dispose()
