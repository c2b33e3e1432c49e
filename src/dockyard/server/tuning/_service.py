"""The tuning jobs' rules: create (checked once), list, describe, trials, stop; and what the
tuning loop reads and writes through :mod:`dockyard.server.tuning._controller`.

Permissions follow jobs': creating needs the member role and ``edit`` on the experiment the
tuning job's run (and its trials' runs) go to; reading needs ``read`` there; stopping, being
its creator or ``manage`` there. Trials are submitted as the creator, as they are now
(:meth:`owner`), so a tuning job starts only what its creator could.
"""

from __future__ import annotations

import builtins
import secrets
import time
from collections.abc import Sequence
from importlib.util import find_spec
from typing import Any

import orjson
from sqlalchemy import Connection

from dockyard.api.jobs import TrainingJobSpec
from dockyard.api.tracking import CreateRun, LogBatch, ParamIn, TagIn
from dockyard.api.tuning import (
    BayesianSampler,
    Trial,
    TuningJob,
    TuningJobSpec,
    TuningJobStatus,
)
from dockyard.errors import AlreadyExists, InvalidArgument, PermissionDenied
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import Access, AuthService
from dockyard.server.events import EventLog
from dockyard.server.store import Database
from dockyard.server.tracking import (
    Page,
    TrackingService,
    decode_page_token,
    encode_page_token,
    now_ms,
)
from dockyard.server.tuning import _views
from dockyard.server.tuning._repository import TuningRepository

__all__ = ["KIND", "TuningService"]

KIND = "tuning"
DEFAULT_EXPERIMENT = "tuning-jobs"


def _default_name() -> str:
    return f"tuning-{time.strftime('%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}"


def check_spec(spec: TuningJobSpec) -> TrainingJobSpec:
    """A trial's training spec with each tuned hyperparameter at the low end of its range: what
    the submit-time checks see, so a spec whose trials could never start is refused at once."""
    ranges = spec.config.parameter_ranges
    sample: dict[str, str] = {
        **{r.name: str(r.min_value) for r in ranges.integer},
        **{r.name: str(r.min_value) for r in ranges.continuous},
        **{r.name: r.values[0] for r in ranges.categorical},
    }
    hyperband = spec.config.hyperband
    if hyperband.resource_parameter and hyperband.max_resource is not None:
        sample[hyperband.resource_parameter] = str(hyperband.max_resource)
    return spec.training_job.model_copy(
        update={"hyperparameters": {**spec.training_job.hyperparameters, **sample}}
    )


class TuningService:
    """Tuning jobs and their trials.

    Args:
        jobs: The job service trials are submitted to and read from.
    """

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        events: EventLog,
        access: Access,
        auth: AuthService,
        jobs: Any,
    ) -> None:
        self._db = db
        self._tracking = tracking
        self._events = events
        self._access = access
        self._auth = auth
        self.jobs = jobs
        self.repo = TuningRepository()

    def event(
        self,
        conn: Connection,
        actor: Actor,
        type: str,
        name: str,
        body: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        self._events.append(
            conn, actor, type, KIND, name, scope=f"{KIND}:{name}", body=body, outcome=outcome
        )

    # -- create -----------------------------------------------------------------------------------

    def create(self, actor: Actor, spec: TuningJobSpec) -> TuningJob:
        """Check a tuning job and start it: its run, its row, ``tuning.started``; the tuning
        loop proposes and submits its trials."""
        self._access.require_role(actor, Role.MEMBER, "create tuning jobs")
        if spec.config.bayesian_sampler is BayesianSampler.GP and find_spec("torch") is None:
            raise InvalidArgument(
                "the Gaussian-process sampler needs PyTorch, which this server lacks: use tpe",
                field="config.bayesian_sampler",
            )
        name = spec.name or _default_name()
        spec = spec.model_copy(update={"name": name})
        try:
            self.jobs.checks.training(actor, check_spec(spec))
        except InvalidArgument as exc:  # the field inside the training job; a refusal stays one
            field = f"training_job.{exc.field}" if exc.field else "training_job"
            raise InvalidArgument(exc.message, field=field) from exc
        with self._db.read() as conn:
            if self.repo.find(conn, name) is not None:
                raise AlreadyExists(f"a tuning job named {name!r} exists", field="name")
            if spec.warm_start is not None:
                for i, parent in enumerate(spec.warm_start.parents):
                    found = self.repo.find(conn, parent.name)
                    field = f"warm_start.parents.{i}.name"
                    if found is None:
                        raise InvalidArgument(
                            f"parent tuning job {parent.name!r} does not exist", field=field
                        )
                    self._require_read(conn, actor, found)
        run_id, experiment_id = self._start_run(actor, name, spec)
        now = now_ms()
        row = {
            "tuning_id": secrets.token_hex(8),
            "name": name,
            "spec": spec.model_dump_json(),
            "status": TuningJobStatus.IN_PROGRESS.value,
            "run_id": run_id,
            "experiment_id": experiment_id,
            "owner_id": actor.user_id,
            "created_by": actor.label[:256],
            "created_time": now,
        }
        with self._db.write() as conn:
            self.repo.insert(conn, **row)
            config = spec.config
            self.event(
                conn,
                actor,
                "tuning.started",
                name,
                {
                    "strategy": config.strategy.value,
                    "objective": config.objective.metric_name,
                    "max_jobs": config.max_jobs,
                    "run_id": run_id,
                },
            )
            return _views.tuning_job(self.repo.require(conn, name), [])

    def _start_run(self, actor: Actor, name: str, spec: TuningJobSpec) -> tuple[str, str]:
        experiment_id = self._tracking.work_experiment(actor, spec.experiment, DEFAULT_EXPERIMENT)
        tags = [
            TagIn(key="dockyard.tuning.name", value=name),
            *(TagIn(key=k, value=v) for k, v in spec.tags.items()),
        ]
        run = self._tracking.create_submitted_run(
            actor, CreateRun(experiment_id=experiment_id, run_name=name, tags=tags)
        )
        config = spec.config
        params = {
            "strategy": config.strategy.value,
            "objective": f"{config.objective.type.value} {config.objective.metric_name}",
            "max_jobs": str(config.max_jobs),
            "max_parallel_jobs": str(config.resource_limits.max_parallel_jobs),
            "early_stopping": config.early_stopping.value,
        }
        self._tracking.log_batch(
            actor,
            run.info.run_id,
            LogBatch(params=[ParamIn(key=k, value=v) for k, v in params.items()]),
        )
        return run.info.run_id, experiment_id

    # -- read -------------------------------------------------------------------------------------

    def _require_read(self, conn: Connection, actor: Actor, row: Any) -> None:
        self._access.require(
            conn, actor, Level.READ, "experiment", str(row.experiment_id), f"read {row.name}"
        )

    def get(self, actor: Actor, name: str) -> TuningJob:
        """A tuning job with its counts and best trial."""
        with self._db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            return _views.tuning_job(row, self.repo.trials(conn, row.tuning_id))

    def trials(self, actor: Actor, name: str) -> builtins.list[Trial]:
        """Every trial of a tuning job, by number."""
        with self._db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            return [_views.trial(t) for t in self.repo.trials(conn, row.tuning_id)]

    def importance(self, actor: Actor, name: str) -> dict[str, float]:
        """Each hyperparameter's share of the objective's variance over the completed trials."""
        from dockyard.server.tuning._records import record
        from dockyard.server.tuning._strategy import Searcher

        with self._db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            rows = self.repo.trials(conn, row.tuning_id)
        spec = TuningJobSpec.model_validate_json(row.spec)
        return Searcher(spec.config, name).importance([record(t) for t in rows])

    def page(
        self,
        actor: Actor,
        *,
        status: Sequence[str] | None = None,
        max_results: int = LIMITS.page_default_results,
        page_token: str | None = None,
    ) -> Page[TuningJob]:
        """Tuning jobs the actor may read, newest first."""
        if not 1 <= max_results <= LIMITS.page_max_results:
            raise InvalidArgument(
                f"max_results must be between 1 and {LIMITS.page_max_results}",
                field="max_results",
            )
        for value in status or ():
            if value not in set(TuningJobStatus):
                known = ", ".join(s.value for s in TuningJobStatus)
                raise InvalidArgument(f"unknown status {value!r}: one of {known}", field="status")
        offset = decode_page_token(page_token)
        with self._db.read() as conn:
            rows = self.repo.list(
                conn,
                status=status,
                limit=max_results + 1,
                offset=offset,
                experiments=self._access.readable(conn, actor, "experiment"),
            )
            items = [_views.tuning_job(r, self.repo.trials(conn, r.tuning_id)) for r in rows]
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    # -- change -----------------------------------------------------------------------------------

    def stop(self, actor: Actor, name: str) -> TuningJob:
        """Ask a tuning job to stop: the loop stops its running trials, then marks it Stopped."""
        with self._db.write() as conn:
            row = self.repo.require(conn, name)
            self._require_control(conn, actor, row)
            if TuningJobStatus(row.status) is TuningJobStatus.IN_PROGRESS:
                self.repo.change(
                    conn,
                    row.tuning_id,
                    stop_requested=True,
                    status=TuningJobStatus.STOPPING.value,
                )
                self.event(conn, actor, "tuning.stop_requested", name)
            row = self.repo.require(conn, name)
            return _views.tuning_job(row, self.repo.trials(conn, row.tuning_id))

    def _require_control(self, conn: Connection, actor: Actor, row: Any) -> None:
        if actor.job is not None:
            raise PermissionDenied(f"{actor.label} may not stop tuning job {row.name}")
        if self._access.is_acting_owner(actor, row.owner_id):
            return
        self._access.require(
            conn, actor, Level.MANAGE, "experiment", str(row.experiment_id), f"stop {row.name}"
        )

    # -- for the tuning loop ----------------------------------------------------------------------

    def active(self) -> builtins.list[Any]:
        """Tuning jobs the loop still drives."""
        with self._db.read() as conn:
            return self.repo.with_status(
                conn, [TuningJobStatus.IN_PROGRESS.value, TuningJobStatus.STOPPING.value]
            )

    def owner(self, row: Any) -> Actor:
        """Who trials are submitted as: the tuning job's creator, as they are now."""
        if row.owner_id is None:  # a server without accounts: its creator's name
            return Actor.system(row.created_by).at("tuning")
        return self._auth.account_actor(int(row.owner_id)).at("tuning")

    @property
    def db(self) -> Database:
        return self._db

    @property
    def tracking(self) -> TrackingService:
        return self._tracking

    def parent_trials(self, row: Any) -> builtins.list[Any]:
        """The completed trials of a tuning job's warm-start parents."""
        spec = TuningJobSpec.model_validate(orjson.loads(row.spec))
        if spec.warm_start is None:
            return []
        found: builtins.list[Any] = []
        with self._db.read() as conn:
            for parent in spec.warm_start.parents:
                prow = self.repo.find(conn, parent.name)
                if prow is not None:
                    found.extend(
                        t for t in self.repo.trials(conn, prow.tuning_id) if t.value is not None
                    )
        return found
