"""Tracking rules: experiments, runs and their data. Routes and adapters call only this.

One module of just over 800 lines: its methods share one set of access checks
(``_writable_run``, ``_check_run_write``, ``_require_read``) and event scopes, which a split
by experiments and runs would have to export between the halves. The next addition should
split it (runs' data writes apart from experiments' and runs' lifecycle).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Connection

from dockyard.api.tracking import (
    LIMITS,
    CountRuns,
    CreateExperiment,
    CreateRun,
    Experiment,
    LifecycleStage,
    LogBatch,
    LogInputs,
    LogOutputs,
    Run,
    RunInfo,
    SearchRuns,
    TagIn,
    UpdateRun,
    ViewType,
)
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import EVERYONE, Access
from dockyard.server.events import EventLog
from dockyard.server.store import Database
from dockyard.server.tracking._experiment_repository import ExperimentRepository
from dockyard.server.tracking._logged_model_repository import LoggedModelRepository, not_found
from dockyard.server.tracking._names import random_run_name
from dockyard.server.tracking._run_repository import HistoryPoint, RunRepository
from dockyard.server.tracking._search import EXPERIMENTS, parse_filter, parse_order_by
from dockyard.server.tracking._search_groups import GroupCount, build_count_query, build_group_query
from dockyard.server.tracking._search_sql import build_search_query
from dockyard.server.tracking._series import MetricSeries, SeriesWindow, read_series
from dockyard.server.tracking._shared import is_shared_experiment

__all__ = [
    "PARENT_RUN_TAG",
    "RUN_NAME_TAG",
    "HistoryPoint",
    "Page",
    "TrackingService",
    "decode_page_token",
    "encode_page_token",
    "int_id",
    "now_ms",
]

T = TypeVar("T")
_INT64 = 2**63

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a page token stands for; a token Dockyard did not issue is refused."""
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument("invalid page_token", field="page_token") from exc
    if not isinstance(offset, int) or not 0 <= offset < _INT64:
        raise InvalidArgument("invalid page_token", field="page_token")
    return offset


class Page(Generic[T]):
    """One page of results and the token of the next page (None on the last)."""

    __slots__ = ("items", "next_page_token")

    def __init__(self, items: list[T], next_page_token: str | None) -> None:
        self.items = items
        self.next_page_token = next_page_token


def int_id(value: str, field: str) -> int:
    """A numeric id (an experiment's) from its string form, or an error naming ``field``."""
    return _int_id(value, field)


def _int_id(value: str, field: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidArgument(f"{field} must be an integer id, got {value!r}", field=field) from exc
    if not 0 <= number < _INT64:  # the database's integers are 64-bit
        raise InvalidArgument(f"{field} {value!r} is out of range", field=field)
    return number


def _scope(experiment_id: object) -> str:
    return f"experiment:{experiment_id}"


class TrackingService:
    """Experiments and runs over the metadata database.

    Every method takes the acting :class:`~dockyard.server.auth.Actor` first; permissions are
    checked and each change is appended to the event log in the transaction that makes it.
    """

    def __init__(self, db: Database, events: EventLog, access: Access) -> None:
        self._db = db
        self._events = events
        self._access = access
        self._experiments = ExperimentRepository()
        self._runs = RunRepository()
        self._models = LoggedModelRepository()

    # -- experiments --------------------------------------------------------------------------

    def create_experiment(self, actor: Actor, request: CreateExperiment) -> Experiment:
        self._access.require_role(actor, Role.MEMBER, "create experiments")
        with self._db.write() as conn:
            tags = {t.key: t.value for t in request.tags}
            experiment_id = self._experiments.create(conn, request.name, now_ms(), tags)
            body: dict[str, Any] = {"name": request.name}
            if is_shared_experiment(request.name):
                # made for everyone, not owned by the member whose job needed it first
                self._access.grant(conn, "experiment", experiment_id, EVERYONE, Level.EDIT)
                body["shared"] = True
            else:
                self._access.own(conn, actor, "experiment", experiment_id)
            self._events.append(
                conn,
                actor,
                "experiment.created",
                "experiment",
                experiment_id,
                scope=_scope(experiment_id),
                body=body,
            )
            return self._experiments.get(conn, int(experiment_id))

    def get_experiment(self, actor: Actor, experiment_id: str) -> Experiment:
        eid = _int_id(experiment_id, "experiment_id")
        with self._db.read() as conn:
            experiment = self._experiments.get(conn, eid)
            self._access.require(conn, actor, Level.READ, "experiment", str(eid), "read it")
            return experiment

    def get_experiment_by_name(self, actor: Actor, name: str) -> Experiment:
        with self._db.read() as conn:
            experiment = self._experiments.get_by_name(conn, name)
            self._access.require(
                conn, actor, Level.READ, "experiment", experiment.experiment_id, "read it"
            )
            return experiment

    def ensure_experiment(self, actor: Actor, request: CreateExperiment) -> Experiment:
        """The experiment named ``request.name``, created from ``request`` if there is none.

        One rule for every client ("use this experiment, making it if need be"): reading an
        existing one needs read permission, creating one what :meth:`create_experiment` needs.
        Two callers racing to create the same name both get the one that was made.
        """
        try:
            return self.get_experiment_by_name(actor, request.name)
        except NotFound:
            pass
        try:
            return self.create_experiment(actor, request)
        except AlreadyExists:
            return self.get_experiment_by_name(actor, request.name)

    def work_experiment(self, actor: Actor, named: str | None, default: str) -> str:
        """The id of the experiment submitted work (a job, a tuning job, a monitoring schedule)
        runs in: the one its spec names (``experiment``), made if need be, else its kind's
        shared ``default``.

        Raises:
            InvalidArgument: That experiment is deleted (naming ``experiment``, which the spec
                may not have set: the kind's default was then deleted).
        """
        found = self.ensure_experiment(actor, CreateExperiment(name=named or default))
        if found.lifecycle_stage == LifecycleStage.DELETED:
            how = (
                f"restore it (dockyard experiments restore {found.experiment_id})"
                if named
                else f"restore it (dockyard experiments restore {found.experiment_id}), where "
                "work that names no experiment goes, or name another experiment"
            )
            raise InvalidArgument(
                f"experiment {found.name!r} is deleted: {how}", field="experiment"
            )
        return found.experiment_id

    def search_experiments(
        self,
        actor: Actor,
        *,
        view: ViewType = ViewType.ACTIVE_ONLY,
        name_like: str | None = None,
        filter: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """Experiments in a lifecycle view, filtered by a case-insensitive ``name_like`` pattern
        and MLflow's experiment ``filter`` syntax (``name``, ``experiment_id``,
        ``creation_time``, ``last_update_time``, ``tags.<key>``).

        ``order_by`` (MLflow's clauses on those attributes) orders them, then newest first; by
        default (None) they come in id order.
        """
        if not 1 <= max_results <= LIMITS.search_max_results:
            raise InvalidArgument(
                f"max_results must be between 1 and {LIMITS.search_max_results}",
                field="max_results",
            )
        conditions = parse_filter(filter, EXPERIMENTS)
        order = None if order_by is None else parse_order_by(order_by, EXPERIMENTS)
        if order is not None and any(k.entity != "attribute" for k in order):
            raise InvalidArgument(
                "experiments are ordered by name, experiment_id, creation_time or "
                "last_update_time only",
                field="order_by",
            )
        offset = decode_page_token(page_token)
        with self._db.read() as conn:
            items = self._experiments.search(
                conn,
                view=view,
                name_like=name_like,
                max_results=max_results + 1,
                offset=offset,
                only=self._access.readable(conn, actor, "experiment"),
                conditions=conditions,
                order=order,
            )
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    def rename_experiment(self, actor: Actor, experiment_id: str, name: str) -> Experiment:
        eid = _int_id(experiment_id, "experiment_id")
        with self._db.write() as conn:
            old = self._experiments.get(conn, eid)
            # Everyone may edit a shared experiment (``0`` included): its name is not theirs.
            shared = eid == 0 or is_shared_experiment(old.name)
            needed = Level.MANAGE if shared else Level.EDIT
            self._access.require(conn, actor, needed, "experiment", str(eid), "rename it")
            if is_shared_experiment(name) and name != old.name:
                raise InvalidArgument(
                    f"{name!r} is kept for the experiment the server makes for everyone's jobs; "
                    "choose another name",
                    field="name",
                )
            self._experiments.rename(conn, eid, name, now_ms())
            self._events.append(
                conn,
                actor,
                "experiment.renamed",
                "experiment",
                str(eid),
                scope=_scope(eid),
                body={"name": name, "old_name": old.name},
            )
            return self._experiments.get(conn, eid)

    def set_experiment_stage(self, actor: Actor, experiment_id: str, stage: LifecycleStage) -> None:
        eid = _int_id(experiment_id, "experiment_id")
        deleting = stage is LifecycleStage.DELETED
        with self._db.write() as conn:
            self._experiments.get(conn, eid)
            self._access.require(
                conn,
                actor,
                Level.MANAGE,
                "experiment",
                str(eid),
                "delete it" if deleting else "restore it",
            )
            self._experiments.set_stage(conn, eid, stage, now_ms())
            self._events.append(
                conn,
                actor,
                "experiment.deleted" if deleting else "experiment.restored",
                "experiment",
                str(eid),
                scope=_scope(eid),
            )

    def set_experiment_tag(self, actor: Actor, experiment_id: str, key: str, value: str) -> None:
        eid = _int_id(experiment_id, "experiment_id")
        with self._db.write() as conn:
            self._experiments.get(conn, eid)
            self._access.require(conn, actor, Level.EDIT, "experiment", str(eid), "tag it")
            self._experiments.set_tags(conn, eid, {key: value})
            self._events.append(
                conn,
                actor,
                "experiment.tag_set",
                "experiment",
                str(eid),
                scope=_scope(eid),
                body={"key": key},
            )

    def delete_experiment_tag(self, actor: Actor, experiment_id: str, key: str) -> bool:
        """Remove a tag; whether the experiment had it (deleting one it lacks changes nothing
        and is no error)."""
        eid = _int_id(experiment_id, "experiment_id")
        with self._db.write() as conn:
            self._experiments.get(conn, eid)
            self._access.require(conn, actor, Level.EDIT, "experiment", str(eid), "untag it")
            had = self._experiments.delete_tag(conn, eid, key)
            self._events.append(
                conn,
                actor,
                "experiment.tag_deleted",
                "experiment",
                str(eid),
                scope=_scope(eid),
                body={"key": key},
            )
        return had

    # -- runs ---------------------------------------------------------------------------------

    def create_submitted_run(self, actor: Actor, request: CreateRun) -> Run:
        """The run the server makes for work ``actor`` submitted (a job, a tuning job, a
        monitoring schedule). Its author is the submitter as the work names them, with or
        without accounts: MLflow's ``user_id`` and ``mlflow.user``, which the runs list, the
        mlflow client and the SageMaker SDK's experiment views show (an ``mlflow.user`` tag
        the work was given wins on a server without accounts, as a client's would)."""
        given = next((t.value for t in request.tags if t.key == USER_TAG), None)
        user = (given or actor.name)[:256]
        tags = request.tags if given else [*request.tags, TagIn(key=USER_TAG, value=user)]
        return self.create_run(actor, request.model_copy(update={"user_id": user, "tags": tags}))

    def create_run(self, actor: Actor, request: CreateRun) -> Run:
        eid = _int_id(request.experiment_id, "experiment_id")
        run_id = uuid.uuid4().hex
        tags = {t.key: t.value for t in request.tags}
        name = request.run_name or tags.get(RUN_NAME_TAG) or random_run_name()
        tags[RUN_NAME_TAG] = name
        parent = request.parent_run_id
        tagged = tags.get(PARENT_RUN_TAG)
        with self._db.write() as conn:
            if self._experiments.stage(conn, eid) is not LifecycleStage.ACTIVE:
                raise InvalidArgument(
                    f"experiment {eid} is deleted; restore it before creating runs in it",
                    field="experiment_id",
                )
            if parent is not None:
                self._require_parent(conn, actor, parent, "parent_run_id")
                tags[PARENT_RUN_TAG] = parent
            elif tagged is not None and self._runs.parent_exists(conn, tagged):
                self._require_parent(conn, actor, tagged, f"tags.{PARENT_RUN_TAG}")
                parent = tagged
            # Otherwise the mlflow.parentRunId tag stays as the client set it (MLflow does not
            # check it either), and the run is nested under nothing.
            self._access.require_run_create(
                conn, actor, str(eid), parent, lambda r: self._runs.parent_of(conn, r)
            )
            # With accounts, a run's author is who signed in, whatever the client says: the
            # author may change the run later, others may not.
            user_id = actor.name if actor.is_person else request.user_id
            if actor.is_person:
                tags[USER_TAG] = actor.name
            info = self._runs.create(
                conn,
                run_id=run_id,
                experiment_id=eid,
                name=name,
                user_id=user_id,
                start_time=request.start_time if request.start_time is not None else now_ms(),
                artifact_uri=f"{eid}/{run_id}/artifacts",
                parent_run_id=parent,
                owner_id=actor.user_id if actor.is_person else None,
            )
            self._runs.set_tags(conn, run_id, tags)
            self._events.append(
                conn,
                actor,
                "run.created",
                "run",
                run_id,
                scope=_scope(eid),
                body={"name": name, "experiment_id": str(eid), "parent_run_id": parent},
            )
        # A new run holds exactly what was just written, so it is not read back. Tags in key
        # order, the order a read returns them in.
        return Run(info=info, tags=dict(sorted(tags.items())))

    def get_run(self, actor: Actor, run_id: str) -> Run:
        with self._db.read() as conn:
            runs = self._runs.get_many(conn, [run_id])
            if not runs:
                raise NotFound(
                    f"run {run_id!r} does not exist",
                    field="run_id",
                    details={"resource": "run", "run_id": run_id},
                )
            self._require_read(conn, actor, runs[0].info)
        return runs[0]

    def get_run_info(self, actor: Actor, run_id: str) -> RunInfo:
        """A run's identity and lifecycle, without its data."""
        with self._db.read() as conn:
            info = self._runs.info(conn, run_id)
            self._require_read(conn, actor, info)
        return info

    def get_runs(self, actor: Actor, run_ids: Sequence[str]) -> list[Run]:
        """Several runs in the given order; any missing id is an error naming it."""
        with self._db.read() as conn:
            runs = self._runs.get_many(conn, run_ids)
            for run in runs:
                self._require_read(conn, actor, run.info)
        found = {r.info.run_id for r in runs}
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise NotFound(
                f"run {missing[0]!r} does not exist",
                field="run_ids",
                details={"resource": "run", "run_id": missing[0]},
            )
        return runs

    def update_run(self, actor: Actor, run_id: str, request: UpdateRun) -> RunInfo:
        with self._db.write() as conn:
            return self.update_run_in(conn, actor, run_id, request)

    def lock_run(self, conn: Connection, run_id: str) -> None:
        """Lock the run's row until the caller's transaction ends (where the database locks
        rows; SQLite's writes go one at a time anyway): a transaction that will update the run
        after it appended events takes the row first, as this service's writes do."""
        self._runs.lock(conn, run_id)

    def update_run_in(
        self, conn: Connection, actor: Actor, run_id: str, request: UpdateRun
    ) -> RunInfo:
        """:meth:`update_run` in the caller's write transaction: a job ends its run in the
        transaction that ends the job, so no reader sees the one without the other."""
        values: dict[str, object] = {}
        changed: dict[str, object] = {}  # the same changes, as RunInfo fields
        if request.status is not None:
            values["status"] = request.status.value
            changed["status"] = request.status
            if request.status.is_terminal:
                values["end_time"] = request.end_time if request.end_time is not None else now_ms()
        elif request.end_time is not None:
            values["end_time"] = request.end_time
        if "end_time" in values:
            changed["end_time"] = values["end_time"]
        info = self._writable_run(conn, actor, run_id, "update it")
        if request.run_name is not None:
            values["name"] = changed["run_name"] = request.run_name
            self._runs.set_tags(conn, run_id, {RUN_NAME_TAG: request.run_name})
        self._runs.update(conn, run_id, **values)
        if request.status is not None and request.status is not info.status:
            self._events.append(
                conn,
                actor,
                "run.status_changed",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                # A rename made in the same call is a change too.
                body={
                    "status": request.status.value,
                    "previous": info.status.value,
                    **({"run_name": request.run_name} if request.run_name is not None else {}),
                },
            )
        elif values:
            self._events.append(
                conn,
                actor,
                "run.updated",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body={k: v for k, v in changed.items() if k != "status"},
            )
        # The info read above with what was just written, rather than a second read.
        return info.model_copy(update=changed)

    def set_run_stage(self, actor: Actor, run_id: str, stage: LifecycleStage) -> None:
        deleting = stage is LifecycleStage.DELETED
        with self._db.write() as conn:
            info = self._runs.info(conn, run_id)
            self._check_run_write(conn, actor, info, "delete it" if deleting else "restore it")
            deleted_time = now_ms() if deleting else None
            self._runs.update(conn, run_id, lifecycle_stage=stage.value, deleted_time=deleted_time)
            self._events.append(
                conn,
                actor,
                "run.deleted" if deleting else "run.restored",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
            )

    def log_batch(self, actor: Actor, run_id: str, batch: LogBatch) -> None:
        """Write metrics, params and tags atomically; a repeated ``batch_id`` is a no-op."""
        with self._db.write() as conn:
            info = self._writable_run(conn, actor, run_id, "log to it")
            if batch.batch_id is not None and not self._runs.claim_batch(
                conn, run_id, batch.batch_id, now_ms()
            ):
                return
            params: dict[str, str] = {}
            for p in batch.params:
                if params.setdefault(p.key, p.value) != p.value:
                    raise InvalidArgument(
                        f"param {p.key!r} appears twice in the batch with different values",
                        field="params",
                    )
            self._runs.log_params(conn, run_id, params)
            tags = {t.key: t.value for t in batch.tags}
            self._runs.set_tags(conn, run_id, tags)
            if RUN_NAME_TAG in tags:
                self._runs.update(conn, run_id, name=tags[RUN_NAME_TAG][: LIMITS.run_name_length])
            self._runs.log_metrics(conn, run_id, batch.metrics)
            linked = [m for m in batch.metrics if m.model_id is not None]
            if linked:
                self._check_models(conn, actor, [m.model_id for m in linked if m.model_id])
                self._models.link_metrics(conn, run_id, linked)
            # One summary per batch, not one per point: the log says who wrote what, and the
            # metric tables hold the data.
            self._events.append(
                conn,
                actor,
                "run.logged",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body=_logged(batch),
            )

    def delete_tag(self, actor: Actor, run_id: str, key: str) -> None:
        with self._db.write() as conn:
            info = self._writable_run(conn, actor, run_id, "untag it")
            self._runs.delete_tag(conn, run_id, key)
            self._events.append(
                conn,
                actor,
                "run.tag_deleted",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body={"key": key},
            )

    def log_inputs(self, actor: Actor, run_id: str, request: LogInputs) -> None:
        """Record datasets a run consumed and logged models it used."""
        with self._db.write() as conn:
            info = self._writable_run(conn, actor, run_id, "log inputs to it")
            self._runs.log_inputs(conn, run_id, int(info.experiment_id), request.datasets)
            if request.models:
                self._check_models(conn, actor, request.models)
                self._models.link_runs(conn, run_id, [], request.models)
            body: dict[str, object] = {"datasets": [d.dataset.name for d in request.datasets][:20]}
            if request.models:
                body["models"] = request.models[:20]
            self._events.append(
                conn,
                actor,
                "run.inputs_logged",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body=body,
            )

    def log_outputs(self, actor: Actor, run_id: str, request: LogOutputs) -> None:
        """Record logged models a run produced, with the step each was logged at."""
        with self._db.write() as conn:
            info = self._writable_run(conn, actor, run_id, "log outputs to it")
            self._check_models(conn, actor, [m.model_id for m in request.models])
            self._models.link_runs(conn, run_id, request.models, [])
            self._events.append(
                conn,
                actor,
                "run.outputs_logged",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body={"models": [m.model_id for m in request.models][:20]},
            )

    def metric_history(
        self, actor: Actor, run_id: str, key: str, *, max_results: int, page_token: str | None
    ) -> Page[HistoryPoint]:
        """One page of a metric's history, ordered by step, then time, then logging order."""
        if not 1 <= max_results <= LIMITS.history_max_results:
            raise InvalidArgument(
                f"max_results must be between 1 and {LIMITS.history_max_results}",
                field="max_results",
            )
        offset = decode_page_token(page_token)
        with self._db.read() as conn:
            self._require_read(conn, actor, self._runs.info(conn, run_id))
            items = self._runs.metric_history(
                conn, run_id, key, max_results=max_results + 1, offset=offset
            )
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    def metric_series(
        self, actor: Actor, run_ids: Sequence[str], key: str | None, window: SeriesWindow
    ) -> list[MetricSeries]:
        """One metric's points in ``window`` for each run, in the order of ``run_ids``, sampled
        to ``window.max_points`` per run for a chart (:mod:`dockyard.server.tracking._series`).

        ``key`` None is the first metric, in key order, any of the runs logged as a curve (past
        step 0), else the first of any they logged (what a comparison shows first, asked for
        before the runs are read); no series when none did.

        Raises:
            NotFound: A run does not exist (``field="run_id"``).
            PermissionDenied: The actor may not read one of the runs.
        """
        ids = list(dict.fromkeys(run_ids))
        # One read transaction: every run's window comes from the same snapshot.
        with self._db.read() as conn:
            for run_id in ids:
                self._require_read(conn, actor, self._runs.info(conn, run_id))
            if key is None:
                key = self._runs.first_metric_key(conn, ids)
                if key is None:
                    return []
            return [read_series(self._runs, conn, run_id, key, window) for run_id in ids]

    def search_runs(self, actor: Actor, request: SearchRuns) -> Page[Run]:
        experiment_ids = [_int_id(e, "experiment_ids") for e in request.experiment_ids]
        offset = request.offset
        if offset is None:
            offset = decode_page_token(request.page_token)
        query = build_search_query(
            experiment_ids,
            request.filter,
            request.order_by,
            request.run_view_type.value,
            request.max_results + 1,
            offset,
        )
        with self._db.read() as conn:
            for eid in experiment_ids:
                self._access.require(
                    conn, actor, Level.READ, "experiment", str(eid), "search its runs"
                )
            ids = self._runs.run_ids_page(conn, query)
            more = len(ids) > request.max_results
            runs = self._runs.get_many(conn, ids[: request.max_results])
        token = encode_page_token(offset + request.max_results) if more else None
        return Page(runs, token)

    def count_runs(self, actor: Actor, request: CountRuns) -> tuple[int, list[GroupCount]]:
        """How many runs a search matches and, with ``group_by``, the groups they form,
        largest first (runs without the param or tag have value None), each with the min, mean
        and max of the ``summarize`` metric when one is named."""
        experiment_ids = [_int_id(e, "experiment_ids") for e in request.experiment_ids]
        count_query = build_count_query(experiment_ids, request.filter, request.run_view_type.value)
        group_query = None
        if request.group_by is not None:
            group_query = build_group_query(
                experiment_ids,
                request.filter,
                request.run_view_type.value,
                request.group_by,
                request.summarize,
            )
        elif request.summarize is not None:
            raise InvalidArgument("summarize needs group_by", field="summarize")
        with self._db.read() as conn:
            for eid in experiment_ids:
                self._access.require(
                    conn, actor, Level.READ, "experiment", str(eid), "search its runs"
                )
            total = int(conn.execute(count_query).scalar_one())
            groups = []
            if group_query is not None:
                groups = [
                    GroupCount(value, int(count), low, _float(mean), high)
                    for value, count, low, mean, high in conn.execute(group_query)
                ]
        return total, groups

    def artifact_prefix(self, actor: Actor, run_id: str, *, writable: bool = False) -> str:
        """The artifact-store key under which a run's artifacts live, once the actor may read
        (or, with ``writable``, change) them."""
        with self._db.read() as conn:
            if writable:
                info = self._writable_run(conn, actor, run_id, "change its artifacts")
            else:
                info = self._runs.info(conn, run_id)
                self._require_read(conn, actor, info)
        return info.artifact_uri

    def record_artifact_change(
        self, actor: Actor, run_id: str, change: str, path: str, size: int | None = None
    ) -> None:
        """Append ``run.artifact_<change>`` (``uploaded``, ``deleted``) to the event log."""
        with self._db.write() as conn:
            info = self._runs.info(conn, run_id)
            body: dict[str, object] = {"path": path}
            if size is not None:
                body["size"] = size
            self._events.append(
                conn,
                actor,
                f"run.artifact_{change}",
                "run",
                run_id,
                scope=_scope(info.experiment_id),
                body=body,
            )

    def readable_experiments(self, actor: Actor) -> set[str] | None:
        """Experiment ids the actor may read; None for all."""
        with self._db.read() as conn:
            return self._access.readable(conn, actor, "experiment")

    def _check_models(self, conn: Connection, actor: Actor, model_ids: Sequence[str]) -> None:
        """Every model must exist (not deleted) and be readable by the actor."""
        rows = {r.model_id: r for r in self._models.rows(conn, model_ids)}
        for model_id in dict.fromkeys(model_ids):
            row = rows.get(model_id)
            if row is None or row.lifecycle_stage != LifecycleStage.ACTIVE.value:
                raise not_found(model_id)
            self._access.require(
                conn,
                actor,
                Level.READ,
                "experiment",
                str(row.experiment_id),
                f"link to logged model {model_id}",
            )

    def _require_parent(self, conn: Connection, actor: Actor, run_id: str, field: str) -> None:
        """A new run is nested under a run its creator may read, as a link to a logged model
        needs: under another account's run in an experiment hidden from the caller, it would
        show in that run's tree and learn that it exists."""
        try:
            info = self._runs.info(conn, run_id)
        except NotFound as exc:
            raise NotFound(exc.message, field=field, details=exc.details) from None
        if self._access.level(conn, actor, "experiment", info.experiment_id) < Level.READ:
            raise PermissionDenied(
                f"{actor.label} may not nest a run under run {run_id} ({field}): it needs read "
                f"permission on experiment {info.experiment_id}",
                field=field,
                details={"needed": "read", "kind": "experiment", "resource": info.experiment_id},
            )

    def _require_read(self, conn: Connection, actor: Actor, info: RunInfo) -> None:
        self._access.require(
            conn, actor, Level.READ, "experiment", info.experiment_id, f"read run {info.run_id}"
        )

    def _check_run_write(self, conn: Connection, actor: Actor, info: RunInfo, what: str) -> None:
        self._access.require_run_write(
            conn,
            actor,
            info,
            what,
            lambda r: self._runs.parent_of(conn, r),
            lambda: self._runs.owner_of(conn, info.run_id),
        )

    def _writable_run(self, conn: Connection, actor: Actor, run_id: str, what: str) -> RunInfo:
        info = self._runs.info(conn, run_id)
        self._check_run_write(conn, actor, info, what)
        if info.lifecycle_stage is not LifecycleStage.ACTIVE:
            raise InvalidArgument(
                f"run {run_id} is deleted; restore it before changing it",
                field="run_id",
                details={"resource": "run", "run_id": run_id, "lifecycle_stage": "deleted"},
            )
        return info


def _float(value: Any) -> float | None:
    # avg() may come back as a Decimal from some drivers: the API speaks floats.
    return None if value is None else float(value)


def _logged(batch: LogBatch) -> dict[str, object]:
    body: dict[str, object] = {}
    if batch.metrics:
        body["metrics"] = len(batch.metrics)
    if batch.params:
        body["params"] = len(batch.params)
    if batch.tags:
        body["tags"] = len(batch.tags)
    return body
