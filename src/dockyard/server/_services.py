"""The services one server process holds, built once from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dockyard.artifacts import ArtifactStore, artifact_uri, open_artifact_store
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.actor import Actor
from dockyard.server.auth import Access, AuthService
from dockyard.server.endpoints import EndpointService
from dockyard.server.events import EventLog
from dockyard.server.jobs import Executors, JobService, Scheduler
from dockyard.server.monitoring import MonitoringService
from dockyard.server.notifications import NotificationService
from dockyard.server.params import ParamService
from dockyard.server.pipelines import PipelineService
from dockyard.server.registry import RegistryService
from dockyard.server.store import Database, open_database
from dockyard.server.tracking import LoggedModelService, TrackingService
from dockyard.server.triggers import TriggerService
from dockyard.server.tuning import TuningService
from dockyard.settings import Settings

if TYPE_CHECKING:
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.api.tuning import TuningJobSpec

log = logging.getLogger("dockyard.server")

__all__ = ["Services"]

_SUPERVISOR = Actor.system("supervisor")


class Background(Protocol):
    """Work a server process does besides answering requests (the scheduler, the supervisor)."""

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Services:
    """Everything a route may call; routes never reach the database or store directly."""

    settings: Settings
    db: Database
    artifacts: ArtifactStore
    events: EventLog
    access: Access
    auth: AuthService
    tracking: TrackingService
    logged_models: LoggedModelService
    jobs: JobService
    registry: RegistryService
    endpoints: EndpointService
    notifications: NotificationService
    params: ParamService
    triggers: TriggerService
    pipelines: PipelineService
    tuning: TuningService
    monitoring: MonitoringService

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        from dockyard.server._home import secure_home

        secure_home(settings, before_database=True)
        db = open_database(settings.resolved_database_url)
        secure_home(settings, before_database=False)
        artifacts = open_artifact_store(
            settings.resolved_artifact_root, s3_endpoint_url=settings.s3_endpoint_url
        )
        events = EventLog(db)
        access = Access(
            default_permission=settings.default_permission,
            approval_separation=settings.approval_separation,
        )
        auth = AuthService(db, events, access, settings)
        tracking = TrackingService(db, events, access)
        logged_models = LoggedModelService(db, events, access)
        endpoints = EndpointService(db, settings, events, access)
        registry = RegistryService(
            db,
            tracking,
            artifacts,
            events,
            access,
            roots=settings.allowed_roots(),
            s3_endpoint_url=settings.s3_endpoint_url,
            logged_models=logged_models,
            model_users=endpoints.served_models,
        )
        jobs = JobService(
            db, tracking, settings, events, access, auth, artifacts, Executors.load(settings)
        )
        jobs.checks.resolve_model = registry.resolve
        jobs.checks.model_version = registry.get_model_version
        params = ParamService(db, settings, events, access)
        jobs.params = params
        endpoints.params = params
        endpoints.pin_model = registry.pinned_version
        notifications = NotificationService(db, settings, events, access)
        tuning = TuningService(db, tracking, events, access, auth, jobs)
        monitoring = MonitoringService(
            db, settings, tracking, events, access, auth, artifacts, jobs, endpoints
        )
        pipelines = _pipelines(
            settings,
            db,
            events,
            access,
            jobs,
            artifacts,
            notifications,
            params,
            registry,
            endpoints,
            tracking,
            tuning,
            monitoring,
        )
        services = cls(
            settings=settings,
            db=db,
            artifacts=artifacts,
            events=events,
            access=access,
            auth=auth,
            tracking=tracking,
            logged_models=logged_models,
            jobs=jobs,
            registry=registry,
            endpoints=endpoints,
            notifications=notifications,
            params=params,
            triggers=TriggerService(db, settings, events, access, auth, jobs, artifacts, pipelines),
            pipelines=pipelines,
            tuning=tuning,
            monitoring=monitoring,
        )
        endpoints.check_model = services.check_model
        endpoints.watchers = services.monitoring.watching
        services.triggers.check_model = services.check_model
        return services

    def check_model(self, actor: Actor, uri: str, field: str) -> None:
        """Refuse a model URI that names nothing ``actor`` may load, naming ``field``."""
        from dockyard.api.jobs import check_readable

        if uri.startswith(("models:/", "runs:/")):
            try:
                self.registry.resolve(actor, uri)
            except (NotFound, InvalidArgument) as exc:
                raise InvalidArgument(f"{uri}: {exc.message}", field=field) from exc
        else:
            check_readable(uri, field, s3_endpoint_url=self.settings.s3_endpoint_url)

    def local_model(self, uri: str) -> tuple[str, str | None]:
        """A verified local package folder for ``uri`` (fetched into the model cache) and the
        digest to check again when it is loaded (None for a plain local folder).

        Registry and run URIs are resolved here, in the server, and copied from the artifact
        store: the server never calls itself over HTTP."""
        from dockyard.models.uris import fetch_model, fetch_model_from_store

        cache = self.settings.home / "cache" / "models"
        if uri.startswith(("models:/", "runs:/")):
            resolved, key = self.registry.package_key(_SUPERVISOR, uri)
            local = fetch_model_from_store(resolved, self.artifacts, key, cache_dir=cache)
        else:
            local = fetch_model(
                uri, client=None, cache_dir=cache, s3_endpoint_url=self.settings.s3_endpoint_url
            )
        return str(local.path), local.digest

    def start_background(self) -> list[Background]:
        """Start the job scheduler and the endpoint supervisor (``dockyard server`` only)."""
        if not self.settings.scheduler:
            return []
        from dockyard.server.endpoints import Supervisor, load_launcher

        scheduler = Scheduler(
            self.jobs, self.jobs.executors, self.settings, self.settings.server_url
        )
        supervisor = Supervisor(
            self.endpoints,
            self.db,
            self.settings,
            resolve=self.local_model,
            capture_root=artifact_uri(self.artifacts, "capture"),
            launcher=load_launcher(self.settings),
        )
        scheduler.start()
        supervisor.start()
        return [
            *self.start_peers(),
            scheduler,
            supervisor,
            *self.start_notifications(),
            *self.start_triggers(),
            self.start_pipelines(),
            self.start_tuning(),
            self.start_monitoring(),
        ]

    def start_peers(self) -> list[Background]:
        """Wake the loops of this server's other processes on each append (Linux)."""
        from dockyard.server.events import Peers

        try:
            peers = Peers(self.settings.resolved_database_url, self.events.notify)
        except OSError as exc:  # no abstract sockets here: the loops' polls alone
            log.info("appends wake only this process's loops: %s", exc)
            return []
        self.events.wake_peers(peers)
        return [peers]

    def start_notifications(self) -> list[Background]:
        """Start the notification fan-out and deliverer (they lead per database)."""
        from dockyard.server.notifications import Deliverer, FanOut

        # Appends and queued deliveries in this machine's other server processes wake these
        # loops where the event log tells its peers: their polls are only the backstop then.
        poll = 0.5 if self.events.tells_peers else None
        home = self.settings.home
        deliverer = Deliverer(self.db, home, self.settings, self.events, interval_s=poll)
        fanout = FanOut(self.db, home, self.events, interval_s=poll)
        deliverer.start()
        fanout.start()
        return [fanout, deliverer]

    def start_triggers(self) -> list[Background]:
        """Start the loops that fire schedules, object prefixes and event patterns."""
        from dockyard.server.triggers import EventTriggers, ObjectWatcher, ScheduleLoop

        home, settings = self.settings.home, self.settings
        loops: list[Background] = [
            ScheduleLoop(
                self.triggers, self.db, home, interval_s=settings.trigger_schedule_interval_s
            ),
            ObjectWatcher(
                self.triggers, self.db, home, interval_s=settings.trigger_objects_interval_s
            ),
            EventTriggers(self.triggers, self.db, home, self.events),
        ]
        for loop in loops:
            loop.start()  # type: ignore[attr-defined]
        return loops

    def start_pipelines(self) -> Background:
        """Start the pipeline engine loop (it leads per database)."""
        from dockyard.server.pipelines import PipelineEngine, TaskRunner

        engine = self.pipelines.engine
        runner = TaskRunner(self.db, engine, self.pipelines.integrations, self._task_actor)
        loop = PipelineEngine(
            runner,
            self.db,
            self.settings.home,
            self.events,
            wake=engine.wake,
            interval_s=self.settings.pipeline_engine_interval_s,
        )
        loop.start()
        return loop

    def _task_actor(self, execution: Any) -> Actor:
        """Who an execution's tasks act as: the account that started it, as it is now."""
        if execution.owner_id is None:  # a server without accounts: the starter's name
            return Actor.system(execution.created_by).at("pipeline")
        return self.auth.account_actor(int(execution.owner_id)).at("pipeline")

    def start_tuning(self) -> Background:
        """Start the loop that drives tuning jobs (it leads per database)."""
        from dockyard.server.tuning import TuningLoop

        loop = TuningLoop(self.tuning, self.db, self.settings.home, self.events)
        loop.start()
        return loop

    def start_monitoring(self) -> Background:
        """Start the loop that checks monitoring schedules' windows (it leads per database)."""
        from dockyard.server.monitoring import MonitoringLoop

        loop = MonitoringLoop(self.monitoring, self.db, self.settings.home, self.events)
        loop.start()
        return loop

    def close(self) -> None:
        self.jobs.executors.close()  # an executor may hold processes
        self.pipelines.integrations.close()
        self.db.dispose()


def _pipelines(
    settings: Settings,
    db: Database,
    events: EventLog,
    access: Access,
    jobs: JobService,
    artifacts: ArtifactStore,
    notifications: NotificationService,
    params: ParamService,
    registry: RegistryService,
    endpoints: EndpointService,
    tracking: TrackingService,
    tuning: TuningService,
    monitoring: MonitoringService,
) -> PipelineService:
    from types import SimpleNamespace

    from dockyard.server.pipelines import Engine, catalog, load_core

    # What the SageMaker API's handlers read, for the tasks that run SageMaker's requests.
    apis = SimpleNamespace(
        registry=registry,
        jobs=jobs,
        params=params,
        endpoints=endpoints,
        tracking=tracking,
        tuning=tuning,
        artifacts=artifacts,
        monitoring=monitoring,
    )

    def sagemaker(actor: Actor, action: str, request: dict[str, Any]) -> dict[str, Any]:
        from dockyard.server.compat.aws import _sagemaker

        # The table the API answers from: the same AWS codes for the same errors.
        return _sagemaker.ACTIONS[action](apis, actor, request)  # type: ignore[no-any-return]

    def sagemaker_answers(action: str) -> bool:
        from dockyard.server.compat.aws import _sagemaker

        return action in _sagemaker.ACTIONS

    def sagemaker_training(request: dict[str, Any]) -> TrainingJobSpec:
        from dockyard.server.compat.aws._sagemaker_training import training_spec

        return training_spec(request)

    def sagemaker_transform(actor: Actor, request: dict[str, Any]) -> dict[str, Any]:
        from dockyard.server.compat.aws._sagemaker_transform import transform_spec

        return transform_spec(apis, actor, request)  # type: ignore[arg-type]

    def sagemaker_tuning(body: dict[str, Any]) -> TuningJobSpec:
        from dockyard.server.compat.aws import native_tuning_spec

        return native_tuning_spec(body)

    integrations = catalog(
        settings,
        jobs=jobs,
        transform_root=artifact_uri(artifacts, "transform"),
        notifications=notifications,
        params=params,
        registry=registry,
        endpoints=endpoints,
        tracking=tracking,
        tuning=tuning,
        sagemaker=sagemaker,
        sagemaker_training=sagemaker_training,
        sagemaker_transform=sagemaker_transform,
        sagemaker_tuning=sagemaker_tuning,
        sagemaker_answers=sagemaker_answers,
    )
    engine = Engine(db, events, load_core())
    return PipelineService(db, events, access, engine, integrations)
