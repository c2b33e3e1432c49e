"""Job rules: submit (validated once), describe, list, wait, stop, logs; and what a job's runner
may do (fetch its launch, report its status, append to its log). The scheduler drives the rest.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import re
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from dockyard.api.jobs import (
    Job,
    JobControl,
    JobLaunch,
    JobStatus,
    JobUser,
    RunnerReport,
    SecondaryStatus,
    TrainingJobSpec,
    resolve_job_user,
)
from dockyard.api.tracking import CreateRun, LifecycleStage, LogBatch, ParamIn, TagIn
from dockyard.artifacts import ArtifactStore
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    invalid_from_validation,
)
from dockyard.json_depth import storable
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor, JobScope, Level, Role
from dockyard.server.auth import Access, AuthService
from dockyard.server.events import EventLog
from dockyard.server.jobs._admission import SpecChecks
from dockyard.server.jobs._executors import Executors
from dockyard.server.jobs._kinds import MONITORING, TRAINING, TRANSFORM, JobKind, job_kind
from dockyard.server.jobs._logstore import JobLogs
from dockyard.server.jobs._repository import JobRepository
from dockyard.server.jobs._waiting import JobWaiter
from dockyard.server.store import Database, after_commit
from dockyard.server.tracking import (
    Page,
    TrackingService,
    decode_page_token,
    encode_page_token,
    now_ms,
)
from dockyard.settings import Settings

if TYPE_CHECKING:
    from dockyard.api.monitoring import MonitoringJobSpec
    from dockyard.api.params import ParameterUse
    from dockyard.server.params import ParamService

__all__ = ["JOB_ENDED", "JobService"]


def _validated(model: type[Any], body: dict[str, Any]) -> Any:
    """Validate ``body`` as ``model`` with the API's error shape (the field is named)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from exc


def _default_name(spec: TrainingJobSpec) -> str:
    base = spec.algorithm or (spec.entry_point or spec.module or "job").rsplit("/", 1)[-1]
    base = re.sub(r"[^a-zA-Z0-9]+", "-", base.removesuffix(".py")).strip("-")[:30] or "job"
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def _is_environment_value(field: str) -> bool:
    """``environment.<NAME>``: where a SecureString may be referenced."""
    head, _, name = field.partition(".")
    return head == "environment" and bool(name) and "." not in name


_SYSTEM = Actor.system("scheduler")
#: Announced (never stored) once a job's final status commits: what wakes the loops that wait
#: on jobs ending, where every ``job.status_changed`` (each secondary status) would wake them
#: for nothing.
JOB_ENDED = "job.ended"
_STOP_REQUESTED = "stop requested"


def _ends(report: RunnerReport, applied: int) -> bool:
    """Whether a line of ``report`` not applied yet gives the job its final status."""
    return any(
        event.at >= applied
        and event.secondary_status is not None
        and event.secondary_status.status.is_terminal
        for event in report.events
    )


_RUN_STATUS = {
    JobStatus.COMPLETED: "FINISHED",
    JobStatus.FAILED: "FAILED",
    JobStatus.STOPPED: "KILLED",
}


class JobService:
    """The durable job queue's rules.

    Submitting needs the member role and ``edit`` on the job's experiment (its run goes
    there); reading a job, ``read`` on that experiment; stopping or resuming, being its
    submitter or ``manage`` on the experiment. A job's runner gets a token of its own when it
    starts (:meth:`runner_token`), and the job's code another (:meth:`launch`), never its
    submitter's credentials; what only a runner does needs the runner's.
    """

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        settings: Settings,
        events: EventLog,
        access: Access,
        auth: AuthService,
        artifacts: ArtifactStore,
        executors: Executors,
    ) -> None:
        self._db = db
        self._repo = JobRepository()
        self._tracking = tracking
        self._settings = settings
        self._events = events
        self._access = access
        self._auth = auth
        self._executors = executors
        self._logs = JobLogs(artifacts)
        self._waiter = JobWaiter(events, self.get)
        #: The submit-time checks; the server sets ``checks.resolve_model`` to the registry's.
        self.checks = SpecChecks(db, tracking, settings, access, executors)
        self.roots = self.checks.roots
        self.wake = threading.Event()  # set on submit and stop, so the scheduler acts at once
        # Set by the server: resolves {{param:/name}} references at submit (see _resolve_params).
        self.params: ParamService | None = None

    @property
    def executors(self) -> Executors:
        """What runs this server's jobs: its default executor and the others it runs."""
        return self._executors

    # -- submit ------------------------------------------------------------------------------

    def submit(self, actor: Actor, spec: TrainingJobSpec) -> Job:
        """Validate a training spec against the world (URIs, capacity, algorithm) and queue it."""
        self._access.require_role(actor, Role.MEMBER, "submit jobs")
        body, uses = self._resolve_params(actor, spec.model_dump(mode="json"), secure=True)
        if uses:
            spec = _validated(TrainingJobSpec, body)
        spec, fitted = self.checks.fit_instance_type(spec)
        self.checks.training(actor, spec)
        name = spec.name or _default_name(spec)
        params = dict(spec.hyperparameters)
        if spec.algorithm:
            params["algorithm"] = spec.algorithm
        run_id, experiment_id = self._start_run(
            actor, name, TRAINING, spec.experiment, spec.tags, params
        )
        return self._enqueue(
            actor,
            experiment_id,
            name,
            TRAINING,
            spec.model_dump(mode="json"),
            run_id,
            spec.resources.cpus,
            spec.stopping_condition.max_wait_s,
            executor=self._executors.choose(spec.executor).name,
            note=fitted,
            parameters=uses,
        )

    def _resolve_params(
        self, actor: Actor, body: dict[str, Any], *, secure: bool
    ) -> tuple[dict[str, Any], builtins.list[ParameterUse]]:
        """The spec with its parameter references resolved with the submitter's permissions.

        String values are written into the spec; a SecureString may appear only in
        ``environment`` (``secure``: training jobs) and stays a reference pinned to its version,
        filled in only for the job's runner (:meth:`launch`).
        """
        if self.params is None or b"{{" not in orjson.dumps(body):
            return body, []
        return self.params.resolve(
            actor,
            body,
            secure_in=lambda field: secure and _is_environment_value(field),
        )

    def submit_transform(self, actor: Actor, body: dict[str, Any], output_root: str) -> Job:
        """Validate and queue a transform job; its output defaults to
        ``<output_root>/<job name>``."""
        from dockyard.api.jobs import TransformJobSpec, default_output

        try:  # a free-form body: half a surrogate pair would fail only when it is written
            storable(body)
        except ValueError as exc:
            raise InvalidArgument(f"the transform spec {exc}", field="body") from None
        name = body.get("name") or (
            f"transform-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"
        )
        body = default_output({**body, "name": name}, f"{output_root.rstrip('/')}/{name}")
        self._access.require_role(actor, Role.MEMBER, "submit transform jobs")
        body, uses = self._resolve_params(actor, body, secure=False)
        spec = _validated(TransformJobSpec, body)
        executor = self._executors.choose(spec.executor)
        self.checks.transform(actor, spec)
        params = {
            "model_uri": spec.model_uri,
            "input_uri": spec.input.uri,
            "content_type": spec.input.content_type,
            "batch_strategy": spec.batch_strategy,
        }
        run_id, experiment_id = self._start_run(
            actor, name, TRANSFORM, spec.experiment, spec.tags, params
        )
        capacity = self._executors.cpus(executor)
        cpus = float(spec.max_concurrent_transforms or capacity)
        return self._enqueue(
            actor,
            experiment_id,
            name,
            TRANSFORM,
            spec.model_dump(mode="json"),
            run_id,
            min(cpus, capacity),
            None,
            executor=executor.name,
            parameters=uses,
        )

    def submit_monitoring(self, actor: Actor, spec: MonitoringJobSpec) -> Job:
        """Queue a monitoring schedule's job (its loop submits it as the schedule's owner):
        1 CPU, its outputs at ``spec.output.uri``, a run in the schedule's experiment."""
        self._access.require_role(actor, Role.MEMBER, "submit monitoring jobs")
        executor = self._executors.choose(spec.executor)  # before its run is made
        params = {"schedule": spec.schedule, "mode": spec.mode, "execution": spec.execution_id}
        if spec.baseline_uri:
            params["baseline_uri"] = spec.baseline_uri[:500]
        tags = {**spec.tags, "dockyard.monitoring.schedule": spec.schedule}
        run_id, experiment_id = self._start_run(
            actor, spec.name, MONITORING, spec.experiment, tags, params
        )
        cpus = min(1.0, self._executors.cpus(executor))
        return self._enqueue(
            actor,
            experiment_id,
            spec.name,
            MONITORING,
            spec.model_dump(mode="json"),
            run_id,
            cpus,
            None,
            executor=executor.name,
        )

    def resume(self, actor: Actor, name: str) -> Job:
        """Queue a failed or stopped job of a resumable kind (transform) again; finished
        shards are not redone."""
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._require_control(conn, actor, row, "resume it")
            status = JobStatus(row.status)
            if not job_kind(row.kind).resumable:
                raise InvalidArgument(
                    f"job {name!r} is a {row.kind} job; only transform jobs resume "
                    "(training jobs restart from their checkpoints with retry_strategy)",
                    field="name",
                )
            if status not in (JobStatus.FAILED, JobStatus.STOPPED):
                raise Conflict(
                    f"job {name!r} is {status.value}; only a failed or stopped job resumes",
                    field="name",
                )
            self._repo.transition(
                conn,
                row.job_id,
                SecondaryStatus.PENDING,
                now_ms(),
                "resumed",
                stop_requested=False,
                failure_reason=None,
                exit_code=None,
                end_time=None,
                handle=None,
            )
            self._set_run_status(conn, row.run_id, "RUNNING")  # it runs again
            self._event(conn, actor, "job.resumed", row)
            job = self._repo.get(conn, row.job_id)
        self.wake.set()
        return job

    def _enqueue(
        self,
        actor: Actor,
        experiment_id: str,
        name: str,
        kind: JobKind,
        spec: dict[str, Any],
        run_id: str,
        cpus: float,
        max_wait_s: int | None,
        *,
        executor: str,
        note: str = "",
        parameters: Sequence[ParameterUse] = (),
    ) -> Job:
        job_id = uuid.uuid4().hex
        used = [u.model_dump(mode="json") for u in parameters]
        now = now_ms()
        try:
            with self._db.write() as conn:
                self._repo.insert(
                    conn,
                    job_id=job_id,
                    name=name,
                    kind=kind.name,
                    spec=orjson.dumps(spec).decode(),
                    status=JobStatus.PENDING.value,
                    secondary_status=SecondaryStatus.PENDING.value,
                    run_id=run_id,
                    # A controller only waits on its children: it holds none of the CPUs.
                    cpus=cpus if kind.holds_capacity else 0.0,
                    created_time=now,
                    queue_deadline=now + max_wait_s * 1000 if max_wait_s else None,
                    created_by=actor.name,
                    owner_id=actor.user_id,
                    experiment_id=int(experiment_id),
                    parameters=orjson.dumps(used).decode() if used else None,
                    executor=executor,
                )
                message = f"queued; {note}" if note else "queued"
                self._repo.transition(conn, job_id, SecondaryStatus.PENDING, now, message)
                row = self._repo.row(conn, job_id)
                body: dict[str, Any] = {"kind": kind.name, "run_id": run_id, "executor": executor}
                if used:  # names and versions: never a value
                    body["parameters"] = [f"{u['name']}:{u['version']}" for u in used]
                self._event(conn, actor, "job.submitted", row, body)
                job = self._repo.get(conn, job_id)
        except AlreadyExists:
            # Another submit of the same name won after this one's check: the run made for a
            # job that never was goes (ended first, so a restored one is not left running).
            with self._db.write() as conn:
                self._set_run_status(conn, run_id, "FAILED")
            with contextlib.suppress(NotFound, InvalidArgument):
                self._tracking.set_run_stage(_SYSTEM, run_id, LifecycleStage.DELETED)
            raise
        self.wake.set()
        return job

    def _start_run(
        self,
        actor: Actor,
        name: str,
        kind: JobKind,
        experiment: str | None,
        tags: dict[str, str],
        params: dict[str, str],
    ) -> tuple[str, str]:
        """The job's run (and its experiment's id), in the named or the kind's experiment.

        Raises:
            AlreadyExists: A job has ``name`` already (before any run is made for it).
        """
        with self._db.read() as conn:
            self._repo.require_free_name(conn, name)
        experiment_id = self._tracking.work_experiment(actor, experiment, kind.default_experiment)
        all_tags = [
            TagIn(key="dockyard.job.name", value=name),
            TagIn(key="dockyard.job.kind", value=kind.name),
            *(TagIn(key=k, value=v) for k, v in tags.items()),
        ]
        run = self._tracking.create_submitted_run(
            actor, CreateRun(experiment_id=experiment_id, run_name=name, tags=all_tags)
        )
        items = [ParamIn(key=k, value=v) for k, v in params.items()]
        if items:
            self._tracking.log_batch(actor, run.info.run_id, LogBatch(params=items[:100]))
        return run.info.run_id, experiment_id

    # -- permissions and events ----------------------------------------------------------------

    def _require_control(self, conn: Any, actor: Actor, row: Any, what: str) -> None:
        """Its submitter, or a manager of its experiment, may stop or resume a job."""
        if actor.job is not None:
            if actor.job.job_id == row.job_id:
                return
            raise PermissionDenied(f"{actor.label} may not {what}: a job controls only itself")
        if self._access.is_acting_owner(actor, row.owner_id):
            return
        self._access.require(
            conn, actor, Level.MANAGE, "experiment", str(row.experiment_id), f"{what} ({row.name})"
        )

    def _require_read(self, conn: Any, actor: Actor, row: Any) -> None:
        if row.experiment_id is None:  # queued before jobs recorded their experiment
            return
        self._access.require(
            conn, actor, Level.READ, "experiment", str(row.experiment_id), f"read job {row.name}"
        )

    def _announce_end(self) -> None:
        self._events.announce(JOB_ENDED)

    def _event(
        self, conn: Any, actor: Actor, type: str, row: Any, body: dict[str, Any] | None = None
    ) -> None:
        scope = f"experiment:{row.experiment_id}" if row.experiment_id is not None else "jobs"
        self._events.append(conn, actor, type, "job", row.name, scope=scope, body=body)

    def _mint(self, conn: Any, row: Any, *, runner: bool) -> str | None:
        """A token for the job ``row``: its submitter's read access, and changes to its own
        run (and the model it registers into) only; ``runner`` adds what only its runner may
        do. It expires with the job's maximum runtime and is revoked when the job ends. None
        where the submitter has no account."""
        if row.owner_id is None:
            return None
        spec = orjson.loads(row.spec)
        runtime = (spec.get("stopping_condition") or {}).get("max_runtime_s") or 86_400 * 28
        scope = JobScope(
            job_id=row.job_id,
            job_name=row.name,
            run_id=row.run_id,
            register_as=(spec.get("output") or {}).get("register_as"),
            runner=runner,
        )
        return self._auth.mint_job_token(conn, int(row.owner_id), scope, float(runtime) + 3600)

    def runner_token(self, row: Any) -> str | None:
        """The token of the runner about to start for ``row`` (see :meth:`_mint`)."""
        with self._db.write() as conn:
            return self._mint(conn, row, runner=True)

    # -- read --------------------------------------------------------------------------------

    def get(self, actor: Actor, name: str) -> Job:
        with self._db.read() as conn:
            row = self._repo.row(conn, name)
            self._require_read(conn, actor, row)
            return self._repo.get(conn, name)

    def find_many(self, names: Sequence[str]) -> dict[str, Job]:
        """The jobs of ``names`` that exist, by name, without their events: for the server's
        own loops, which submitted them, following many at once."""
        with self._db.read() as conn:
            return self._repo.named(conn, names)

    def find(self, name: str) -> Job | None:
        """The job called ``name``, or None: for the server's own loops, which submitted it."""
        with self._db.read() as conn:
            try:
                return self._repo.get(conn, name)
            except NotFound:
                return None

    def list(
        self,
        actor: Actor,
        *,
        kind: str | None = None,
        status: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Job]:
        with self._db.read() as conn:
            return self._repo.list(
                conn,
                kind=kind,
                status=status,
                limit=limit,
                offset=offset,
                experiments=self._access.readable(conn, actor, "experiment"),
            )

    def page(
        self,
        actor: Actor,
        *,
        kind: str | None = None,
        status: Sequence[str] | None = None,
        max_results: int = LIMITS.page_default_results,
        page_token: str | None = None,
    ) -> Page[Job]:
        """One page of :meth:`list`, newest first, and the token of the next (None at the end)."""
        if not 1 <= max_results <= LIMITS.page_max_results:
            raise InvalidArgument(
                f"max_results must be between 1 and {LIMITS.page_max_results}",
                field="max_results",
            )
        offset = decode_page_token(page_token)
        items = self.list(actor, kind=kind, status=status, limit=max_results + 1, offset=offset)
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    def read_log(
        self, actor: Actor, name: str, offset: int, limit: int = 1 << 20
    ) -> tuple[bytes, int, bool]:
        """Log bytes from ``offset``; the next offset; whether the job has ended.

        The job's status is read first: once it says ended, the runner has sent its whole log,
        so a follower that sees "ended" and no more bytes has seen everything.
        """
        job = self.get(actor, name)
        data = self._logs.read(job.job_id, offset, limit)
        return data, offset + len(data), job.status.is_terminal

    def log_marks(self, actor: Actor, name: str, upto: int = 0) -> builtins.list[tuple[int, int]]:
        """When the job's log bytes were stored: ``(offset, unix ms)``, the bytes before
        ``offset`` by then (see :meth:`~dockyard.server.jobs._logstore.JobLogs.marks`); at
        least up to ``upto`` when the log holds that much."""
        job = self.get(actor, name)
        return self._logs.marks(job.job_id, upto)

    def log_size(self, actor: Actor, name: str) -> tuple[Job, int]:
        """The job (read first, as :meth:`read_log` does) and how many bytes its log holds: where
        a reader of its newest lines starts from."""
        job = self.get(actor, name)
        return job, self._logs.size(job.job_id)

    def outputs(self, actor: Actor, name: str) -> tuple[str, ArtifactStore]:
        """A transform job's output URI and the store holding its outputs
        (``<uri>/<input name>.out`` and ``_manifest.json``), for clients that download them.

        Raises:
            InvalidArgument: The job is a training job (its outputs are its run's artifacts).
        """
        with self._db.read() as conn:  # the row alone: its events are not needed
            row = self._repo.row(conn, name)
            self._require_read(conn, actor, row)
        if not job_kind(row.kind).has_outputs:
            raise InvalidArgument(
                f"job {row.name!r} is a {row.kind} job; its outputs are its run's artifacts",
                field="name",
            )
        uri = str(orjson.loads(row.spec)["output"]["uri"])
        self.roots.check(uri, "output.uri")  # the roots may have narrowed since submit
        from dockyard.artifacts import open_artifact_store

        return uri, open_artifact_store(uri, s3_endpoint_url=self._settings.s3_endpoint_url)

    # -- change ------------------------------------------------------------------------------

    def stop(self, actor: Actor, name: str, *, reason: str = _STOP_REQUESTED) -> Job:
        """Ask a job to stop: a queued one stops at once, a running one gets SIGTERM, then
        SIGKILL after a grace period. ``reason`` is the message of its status change (a tuning
        job's early stopping says "stopped early")."""
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._require_control(conn, actor, row, "stop it")
            status = JobStatus(row.status)
            if status.is_terminal:
                return self._repo.get(conn, row.job_id)
            if status is JobStatus.PENDING:
                said = "stopped" if reason == _STOP_REQUESTED else reason
                self._transition(
                    conn, row.job_id, SecondaryStatus.STOPPED, f"{said} before it started"
                )
            else:
                self._repo.update(conn, row.job_id, stop_requested=True)
                if status is not JobStatus.STOPPING:
                    self._repo.transition(
                        conn, row.job_id, SecondaryStatus.STOPPING, now_ms(), reason
                    )
            self._event(conn, actor, "job.stop_requested", row)
            job = self._repo.get(conn, row.job_id)
        self.wake.set()  # the scheduler signals a local runner; a remote one polls
        return job

    def wait_for_job(self, actor: Actor, name: str, timeout: float) -> Job:
        """The job once it has ended, or as it is after ``timeout`` seconds (woken by the
        event log, not by polling the jobs table; see :mod:`dockyard.server.jobs._waiting`)."""
        return self._waiter.wait(actor, name, timeout)

    async def await_job(self, actor: Actor, name: str, timeout: float) -> Job:
        """:meth:`wait_for_job` on an event loop, holding no thread while it waits."""
        return await self._waiter.await_(actor, name, timeout)

    # -- what a job's runner does ---------------------------------------------------------------

    @functools.cached_property
    def _job_user(self) -> JobUser | None:
        return resolve_job_user(self._settings.job_user)

    def launch(self, actor: Actor, name: str) -> JobLaunch:
        """What the runner of a started job needs: its spec and run, a token for the job's
        code, where its log ends, and the server's settings it applies. Only the job's runner
        may ask.

        Raises:
            Conflict: The job is not running (queued, or ended).
        """
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._access.require_job_runner(actor, row.job_id, row.name, "launch it")
            status = JobStatus(row.status)
            if status not in (JobStatus.IN_PROGRESS, JobStatus.STOPPING):
                raise Conflict(f"job {row.name!r} is {status.value}: it has no runner to launch")
            token = self._mint(conn, row, runner=False)
            # Each runner reports from a fresh outbox: one started again (on another machine,
            # after its own was lost) numbers its events from the start.
            self._repo.update(conn, row.job_id, events_offset=0)
        user = self._job_user
        spec = orjson.loads(row.spec)
        masked: builtins.list[str] = []
        if row.parameters and self.params is not None:
            # SecureString values reach the job's process here, and only here.
            from dockyard.api.params import ParameterUse

            uses = [ParameterUse.model_validate(u) for u in orjson.loads(row.parameters)]
            environment = spec.get("environment") or {}
            spec["environment"], masked = self.params.reveal(
                actor, environment, uses, "environment"
            )
        return JobLaunch(
            job_id=row.job_id,
            name=row.name,
            kind=row.kind,
            spec=spec,
            run_id=row.run_id,
            token=token,
            log_offset=self._logs.size(row.job_id),
            s3_endpoint_url=self._settings.s3_endpoint_url,
            stop_grace_s=self._settings.job_stop_grace_s,
            checkpoint_sync_s=self._settings.job_checkpoint_sync_s,
            allowed_roots=self.roots.to_list(),
            # Names and NAME=value pairs: values are read from the runner's environment, so
            # passed-through secrets never travel through the API.
            job_env=list(self._settings.job_env),
            user=user.to_dict() if user else None,
            opt_ml=self._settings.job_opt_ml,
            masked=masked,
        )

    def report(self, actor: Actor, name: str, report: RunnerReport) -> JobControl:
        """Apply what a runner reports (each outbox line once, in one transaction) and answer
        with the job's control state. Lines that come after the job ended are ignored: a
        runner the server has given up on learns so from the answer."""
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._access.require_job_runner(actor, row.job_id, row.name, "report its status")
            if JobStatus(row.status) in (JobStatus.IN_PROGRESS, JobStatus.STOPPING):
                if row.run_id and _ends(report, row.events_offset):
                    # Its lines before the final one append events first: the run is locked
                    # before them (see _set_run_status).
                    self._tracking.lock_run(conn, row.run_id)
                self._apply(conn, row, report)
                row = self._repo.row(conn, row.job_id)
            return JobControl(status=JobStatus(row.status), stop_requested=bool(row.stop_requested))

    def _apply(self, conn: Any, row: Any, report: RunnerReport) -> None:
        """Apply the report's new lines (those after a final status are not)."""
        progress = None
        for event in report.events:
            if event.at < row.events_offset:
                continue  # applied already: the runner lost our answer and sent it again
            if event.secondary_status is None:
                progress = event.progress if event.progress is not None else progress
                continue
            secondary = event.secondary_status
            values: dict[str, Any] = {"time_ms": event.time}
            if event.failure_reason is not None:
                values["failure_reason"] = event.failure_reason
            if event.exit_code is not None:
                values["exit_code"] = event.exit_code
            if event.model_uri is not None:
                values["model_uri"] = event.model_uri
            if event.progress is not None:
                values["progress"] = orjson.dumps(event.progress).decode()
            # A job being stopped stays Stopping while its runner still reports progress.
            stopping = bool(row.stop_requested) and not secondary.status.is_terminal
            message = event.message or ("stopped" if secondary is SecondaryStatus.STOPPED else "")
            row = self._transition(
                conn,
                row.job_id,
                secondary,
                message,
                status=JobStatus.STOPPING if stopping else None,
                **values,
            )
            if secondary.status.is_terminal:
                break
        update: dict[str, Any] = {"events_offset": max(row.events_offset, report.next_offset)}
        if progress is not None:
            update["progress"] = orjson.dumps(progress).decode()
        self._repo.update(conn, row.job_id, **update)

    def append_log(self, actor: Actor, name: str, offset: int, data: bytes) -> int:
        """Append ``data`` to the job's log at ``offset`` (only its runner may); returns the
        log's size (see :class:`~dockyard.server.jobs._logstore.JobLogs` for retries).

        Raises:
            Conflict: ``offset`` is past the end of the log, or the job has ended.
        """
        with self._db.read() as conn:
            row = self._repo.row(conn, name)
            self._access.require_job_runner(actor, row.job_id, row.name, "write its log")
        if JobStatus(row.status).is_terminal:
            raise Conflict(f"job {row.name!r} has ended: its log is closed", field="name")
        return self._logs.append(row.job_id, offset, data)

    # -- used by the scheduler -----------------------------------------------------------------

    def with_status(self, *statuses: JobStatus) -> builtins.list[Any]:
        with self._db.read() as conn:
            return self._repo.rows_with_status(conn, statuses)

    def transition(
        self, job_id: str, secondary: SecondaryStatus, message: str = "", **values: Any
    ) -> None:
        with self._db.write() as conn:
            self._transition(conn, job_id, secondary, message, **values)

    def _transition(
        self, conn: Any, job_id: str, secondary: SecondaryStatus, message: str, **values: Any
    ) -> Any:
        """Record a transition in the caller's transaction; returns the job's row after it."""
        before = self._repo.row(conn, job_id)
        self._repo.transition(
            conn, job_id, secondary, values.pop("time_ms", None) or now_ms(), message, **values
        )
        row = self._repo.row(conn, job_id)
        if row.status != before.status or row.secondary_status != before.secondary_status:
            ended = JobStatus(row.status).is_terminal
            if ended:  # before any event: see _set_run_status
                self._set_run_status(conn, row.run_id, _RUN_STATUS[JobStatus(row.status)])
            body: dict[str, Any] = {
                "status": row.status,
                "secondary_status": row.secondary_status,
                "run_id": row.run_id,
            }
            if row.failure_reason and JobStatus(row.status).is_terminal:
                body["failure_reason"] = row.failure_reason[:500]
            if row.model_uri:
                body["model_uri"] = row.model_uri
            self._event(conn, _SYSTEM, "job.status_changed", row, body)
            if ended:
                after_commit(self._announce_end)
        if JobStatus(row.status).is_terminal:
            self._auth.revoke_job_tokens(conn, job_id)
        return row

    def fail(self, job_id: str, reason: str) -> None:
        """End a job Failed with ``reason`` (unless it has ended meanwhile), and its run."""
        with self._db.write() as conn:
            if JobStatus(self._repo.row(conn, job_id).status).is_terminal:
                return
            self._transition(conn, job_id, SecondaryStatus.FAILED, reason, failure_reason=reason)

    def stopped(self, job_id: str, message: str) -> None:
        """End a job Stopped (unless it has ended meanwhile), and its run: a stop asked of it
        ended its runner before the runner could report."""
        with self._db.write() as conn:
            if JobStatus(self._repo.row(conn, job_id).status).is_terminal:
                return
            self._transition(conn, job_id, SecondaryStatus.STOPPED, message)

    def update(self, job_id: str, **values: Any) -> None:
        with self._db.write() as conn:
            self._repo.update(conn, job_id, **values)

    def _set_run_status(self, conn: Any, run_id: str | None, status: str) -> None:
        """Set the job's run's status in the caller's transaction: the one that ends (or
        resumes) the job, so that no reader sees a job ended and its run still running.

        Called before the transaction appends any event (or with the run locked before it
        did): appending takes the event log's lock until the commit, and the tracking
        service's own writes lock a run's row before they append. Taken in the other order,
        a job ending while its run is renamed or deleted would wait on each other (a deadlock
        PostgreSQL ends by failing one of the two).
        """
        if run_id is None:
            return
        from dockyard.api.tracking import RunStatus, UpdateRun

        # A run deleted meanwhile is fine: the job's own status still says it all.
        with contextlib.suppress(NotFound, InvalidArgument):
            self._tracking.update_run_in(conn, _SYSTEM, run_id, UpdateRun(status=RunStatus(status)))
