"""Logged models (MLflow 3): models logged into an experiment, with params, tags, linked
metrics and a folder of files, before (and independently of) any registration.

Permissions follow the experiment, as for runs: reading needs ``read`` on it, creating needs
``edit`` (a job's token creates models only from its own run or runs nested under it). **A logged
model is its creator's**: changing it (params, tags, status, files, deletion) needs ``edit`` on
the experiment and being its creator, or ``manage`` on the experiment; a job's token changes only
models whose source run is its own or nested under it. Routes and adapters call only this.

A logged model's files are an ``MLmodel`` package once a flavor's ``log_model`` uploaded them;
``models:/<model_id>`` resolves to them (:meth:`~dockyard.server.registry.RegistryService.resolve`)
and registering that URI copies and verifies them like any other source.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from dockyard.api.tracking import (
    LOGGED_MODEL_ID,
    CreateLoggedModel,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    ParamIn,
    SearchLoggedModels,
    TagIn,
)
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.actor import Actor, Level
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.store import Database
from dockyard.server.tracking._experiment_repository import ExperimentRepository
from dockyard.server.tracking._logged_model_repository import LoggedModelRepository, not_found
from dockyard.server.tracking._names import random_run_name
from dockyard.server.tracking._run_repository import RunRepository
from dockyard.server.tracking._search import LOGGED_MODELS, parse_filter
from dockyard.server.tracking._service import (
    Page,
    decode_page_token,
    encode_page_token,
    int_id,
    now_ms,
)

__all__ = ["MODEL_VERSIONS_TAG", "LoggedModelService"]

#: The tag that lists the registry versions made from a logged model, as MLflow's server sets it.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_KIND = "logged_model"


@dataclass(frozen=True, slots=True)
class _Owned:
    """What the run-write rule needs to know about a logged model (it reads like a run)."""

    run_id: str
    experiment_id: str
    user_id: str


def _scope(experiment_id: object) -> str:
    return f"experiment:{experiment_id}"


def check_model_id(model_id: str) -> str:
    """A logged model's id, or NotFound (an id of another shape names no model here)."""
    if not LOGGED_MODEL_ID.match(model_id):
        raise not_found(model_id)
    return model_id


class LoggedModelService:
    """Logged models over the metadata database.

    Every method takes the acting :class:`~dockyard.server.auth.Actor` first; permissions are
    checked and each change is appended to the event log in the transaction that makes it.
    """

    def __init__(self, db: Database, events: EventLog, access: Access) -> None:
        self._db = db
        self._events = events
        self._access = access
        self._repo = LoggedModelRepository()
        self._experiments = ExperimentRepository()
        self._runs = RunRepository()

    # -- models ---------------------------------------------------------------------------------

    def create(self, actor: Actor, request: CreateLoggedModel) -> LoggedModel:
        """Create a ``PENDING`` model; its files go under its ``artifact_location``."""
        eid = int_id(request.experiment_id, "experiment_id")
        model_id = f"m-{uuid.uuid4().hex}"
        name = request.name or random_run_name()
        now = now_ms()
        with self._db.write() as conn:
            if self._experiments.stage(conn, eid) is not LifecycleStage.ACTIVE:
                raise InvalidArgument(
                    f"experiment {eid} is deleted; restore it before logging models in it",
                    field="experiment_id",
                )
            parents = lambda r: self._runs.parent_of(conn, r)  # noqa: E731
            self._access.require_run_create(conn, actor, str(eid), request.source_run_id, parents)
            if request.source_run_id is not None and actor.job is None:
                # The run a model names as its source lists it, and runs:/<run>/<name> finds
                # it when the run's folder has no <name>: naming a run is logging into it.
                try:
                    source = self._runs.info(conn, request.source_run_id)
                except NotFound:
                    source = None  # let be, as MLflow lets it: no run can take that id later
                if source is not None:
                    self._access.require_run_write(
                        conn,
                        actor,
                        source,
                        f"log a model from run {source.run_id}",
                        parents,
                        lambda: self._runs.owner_of(conn, source.run_id),
                    )
            self._repo.create(
                conn,
                model_id=model_id,
                experiment_id=eid,
                name=name,
                artifact_location=f"{eid}/models/{model_id}/artifacts",
                status=LoggedModelStatus.PENDING.value,
                model_type=request.model_type,
                source_run_id=request.source_run_id,
                creator=actor.name,
                owner_id=actor.user_id if actor.is_person else None,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                creation_time=now,
                last_updated_time=now,
            )
            self._repo.log_params(conn, model_id, {p.key: p.value for p in request.params})
            self._repo.set_tags(conn, model_id, {t.key: t.value for t in request.tags})
            self._event(conn, actor, "created", model_id, eid, {"name": name})
            return self._repo.get_many(conn, [model_id])[0]

    def get(self, actor: Actor, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        """One model with its tags, params and linked metrics."""
        check_model_id(model_id)
        with self._db.read() as conn:
            row = self._repo.row(conn, model_id, allow_deleted=allow_deleted)
            self._require_read(conn, actor, row)
            return self._repo.get_many(conn, [model_id])[0]

    def search(self, actor: Actor, request: SearchLoggedModels) -> Page[LoggedModel]:
        """Active models of the experiments that match the filter, ordered and paged."""
        experiment_ids = [int_id(e, "experiment_ids") for e in request.experiment_ids]
        conditions = parse_filter(request.filter, LOGGED_MODELS)
        offset = decode_page_token(request.page_token)
        with self._db.read() as conn:
            for eid in experiment_ids:
                self._experiments.stage(conn, eid)  # an unknown experiment is NotFound
                self._access.require(
                    conn, actor, Level.READ, "experiment", str(eid), "search its models"
                )
            ids = self._repo.search(
                conn,
                experiment_ids=experiment_ids,
                conditions=conditions,
                datasets=request.datasets,
                order_by=request.order_by,
                limit=request.max_results + 1,
                offset=offset,
            )
            models = self._repo.get_many(conn, ids[: request.max_results])
        more = len(ids) > request.max_results
        return Page(models, encode_page_token(offset + request.max_results) if more else None)

    def log_params(self, actor: Actor, model_id: str, params: list[ParamIn]) -> None:
        """Add params (immutable: a different value for a logged key is a conflict)."""
        with self._db.write() as conn:
            row = self._writable(conn, actor, model_id, "log params to it")
            self._repo.log_params(conn, model_id, {p.key: p.value for p in params})
            self._touch(conn, model_id)
            self._event(
                conn, actor, "params_logged", model_id, row.experiment_id, {"params": len(params)}
            )

    def finalize(self, actor: Actor, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the status a client reports once its upload ended (``READY`` or ``FAILED``)."""
        with self._db.write() as conn:
            row = self._writable(conn, actor, model_id, "finalize it")
            self._touch(conn, model_id, status=status.value)
            self._event(
                conn, actor, "finalized", model_id, row.experiment_id, {"status": status.value}
            )
            return self._repo.get_many(conn, [model_id])[0]

    def delete(self, actor: Actor, model_id: str) -> None:
        """Soft-delete a model: it leaves searches and URIs; its files stay until collected."""
        with self._db.write() as conn:
            row = self._writable(conn, actor, model_id, "delete it")
            self._touch(conn, model_id, lifecycle_stage=LifecycleStage.DELETED.value)
            self._event(conn, actor, "deleted", model_id, row.experiment_id)

    def set_tags(self, actor: Actor, model_id: str, tags: list[TagIn]) -> None:
        """Set tags (a repeated key keeps its last value)."""
        with self._db.write() as conn:
            row = self._writable(conn, actor, model_id, "tag it")
            self._repo.set_tags(conn, model_id, {t.key: t.value for t in tags})
            self._touch(conn, model_id)
            self._event(
                conn,
                actor,
                "tags_set",
                model_id,
                row.experiment_id,
                {"keys": [t.key for t in tags][:20]},
            )

    def delete_tag(self, actor: Actor, model_id: str, key: str) -> None:
        """Remove one tag; NotFound when the model has no such tag."""
        with self._db.write() as conn:
            row = self._writable(conn, actor, model_id, "untag it")
            self._repo.delete_tag(conn, model_id, key)
            self._touch(conn, model_id)
            self._event(conn, actor, "tag_deleted", model_id, row.experiment_id, {"key": key})

    def find_by_run(self, actor: Actor, run_id: str, name: str) -> LoggedModel | None:
        """The newest active model called ``name`` that run ``run_id`` produced, if any (what
        MLflow 3 means by ``runs:/<run_id>/<name>`` when the run's folder has no such path)."""
        with self._db.read() as conn:
            model_id = self._repo.newest_of_run(conn, run_id, name)
            if model_id is None:
                return None
            self._require_read(conn, actor, self._repo.row(conn, model_id))
            return self._repo.get_many(conn, [model_id])[0]

    def of_run(self, actor: Actor, run_id: str) -> list[LoggedModel]:
        """The active models run ``run_id`` produced (its source run, or an output it logged),
        oldest first; NotFound for an unknown run."""
        with self._db.read() as conn:
            info = self._runs.info(conn, run_id)
            self._access.require(
                conn, actor, Level.READ, "experiment", info.experiment_id, f"read run {run_id}"
            )
            return self._repo.get_many(conn, self._repo.of_run(conn, run_id))

    # -- files ----------------------------------------------------------------------------------

    def artifact_prefix(self, actor: Actor, model_id: str, *, writable: bool = False) -> str:
        """The artifact-store key of the model's files, once the actor may read (or, with
        ``writable``, change) them."""
        with self._db.read() as conn:
            if writable:
                row = self._writable(conn, actor, model_id, "change its files")
            else:
                row = self._repo.row(conn, check_model_id(model_id))
                self._require_read(conn, actor, row)
        return str(row.artifact_location)

    def record_artifact_change(
        self, actor: Actor, model_id: str, change: str, path: str, size: int | None = None
    ) -> None:
        """Append ``logged_model.artifact_<change>`` (``uploaded``, ``deleted``) to the log."""
        with self._db.write() as conn:
            row = self._repo.row(conn, model_id)
            body: dict[str, object] = {"path": path}
            if size is not None:
                body["size"] = size
            self._event(conn, actor, f"artifact_{change}", model_id, row.experiment_id, body)

    # -- for the registry -----------------------------------------------------------------------

    def record_registration(self, conn: Connection, model_id: str, name: str, version: int) -> None:
        """Note in the model's ``mlflow.modelVersions`` tag that it became ``name`` version
        ``version``; called by the registry inside the transaction that creates the version."""
        current = self._repo.tag(conn, model_id, MODEL_VERSIONS_TAG)
        try:
            versions = json.loads(current) if current else []
        except ValueError:
            versions = []
        entry: dict[str, object] = {"name": name, "version": version}  # a number, as MLflow
        if not isinstance(versions, list):
            versions = []
        if entry not in versions:
            versions.append(entry)
        self._repo.set_tags(conn, model_id, {MODEL_VERSIONS_TAG: json.dumps(versions)})

    # -- internals ------------------------------------------------------------------------------

    def _require_read(self, conn: Connection, actor: Actor, row: Any) -> None:
        self._access.require(
            conn,
            actor,
            Level.READ,
            "experiment",
            str(row.experiment_id),
            f"read logged model {row.model_id}",
        )

    def _writable(self, conn: Connection, actor: Actor, model_id: str, what: str) -> Any:
        row = self._repo.row(conn, check_model_id(model_id))
        owned = _Owned(
            run_id=row.source_run_id or model_id,
            experiment_id=str(row.experiment_id),
            user_id=row.creator,
        )
        owner = None if row.owner_id is None else int(row.owner_id)
        self._access.require_run_write(
            conn, actor, owned, what, lambda r: self._runs.parent_of(conn, r), lambda: owner
        )
        return row

    def _touch(self, conn: Connection, model_id: str, **values: object) -> None:
        self._repo.update(conn, model_id, last_updated_time=now_ms(), **values)

    def _event(
        self,
        conn: Connection,
        actor: Actor,
        change: str,
        model_id: str,
        experiment_id: object,
        body: dict[str, object] | None = None,
    ) -> None:
        self._events.append(
            conn,
            actor,
            f"logged_model.{change}",
            _KIND,
            model_id,
            scope=_scope(experiment_id),
            body=body,
        )
