"""SQL for experiments and their tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from dockyard.api.tracking import Experiment, LifecycleStage, ViewType
from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.store import DriverSelect, schema, upsert
from dockyard.server.tracking._search import Condition, OrderKey, binary, compare

__all__ = ["ExperimentRepository"]

_E = schema.experiments
_T = schema.experiment_tags
_COLUMNS: dict[str, Any] = {
    "name": _E.c.name,
    "experiment_id": _E.c.experiment_id,
    "creation_time": _E.c.creation_time,
    "last_update_time": _E.c.last_update_time,
}
# Built once: creating a run checks its experiment, and building the statement would cost more
# than running it.
_STAGE = DriverSelect(
    select(_E.c.lifecycle_stage).where(_E.c.experiment_id == bindparam("experiment_id"))
)
# Reading one experiment (by id or name) and its tags: a statement built per call costs
# SQLAlchemy a fresh cache key, more than the SQLite read.
# An experiment's columns in the order _hydrate reads them. One experiment by id or name (a
# page, an MLflow client's get_experiment) goes to SQLite's driver directly: see DriverSelect.
_ROW = (
    _E.c.experiment_id,
    _E.c.name,
    _E.c.artifact_location,
    _E.c.lifecycle_stage,
    _E.c.creation_time,
    _E.c.last_update_time,
)
_BY_ID = DriverSelect(select(*_ROW).where(_E.c.experiment_id == bindparam("experiment_id")))
_BY_NAME = DriverSelect(select(*_ROW).where(_E.c.name == bindparam("name")))
_TAGS_OF = DriverSelect(
    select(_T.c.key, _T.c.value).where(_T.c.experiment_id == bindparam("experiment_id"))
)
_TAGS_OF_MANY = select(_T.c.experiment_id, _T.c.key, _T.c.value).where(
    _T.c.experiment_id.in_(bindparam("ids", expanding=True))
)


def _stages(view: ViewType) -> tuple[str, ...]:
    if view is ViewType.ACTIVE_ONLY:
        return (LifecycleStage.ACTIVE.value,)
    if view is ViewType.DELETED_ONLY:
        return (LifecycleStage.DELETED.value,)
    return (LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value)


class ExperimentRepository:
    """Reads and writes experiments; callers own the transaction."""

    def create(self, conn: Connection, name: str, now: int, tags: dict[str, str]) -> str:
        try:
            result = conn.execute(
                _E.insert().values(
                    name=name,
                    artifact_location="",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    creation_time=now,
                    last_update_time=now,
                )
            )
        except IntegrityError as exc:
            raise AlreadyExists(f"experiment {name!r} already exists", field="name") from exc
        experiment_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        conn.execute(
            update(_E)
            .where(_E.c.experiment_id == experiment_id)
            .values(artifact_location=str(experiment_id))
        )
        self.set_tags(conn, experiment_id, tags)
        return str(experiment_id)

    def get(self, conn: Connection, experiment_id: int) -> Experiment:
        row = next(iter(_BY_ID.rows(conn, {"experiment_id": experiment_id})), None)
        if row is None:
            raise NotFound(
                f"experiment {experiment_id} does not exist",
                field="experiment_id",
                details={"resource": "experiment", "experiment_id": str(experiment_id)},
            )
        return self._hydrate(conn, [row])[0]

    def stage(self, conn: Connection, experiment_id: int) -> LifecycleStage:
        """An experiment's lifecycle stage alone (no tags read)."""
        stage = next((r[0] for r in _STAGE.rows(conn, {"experiment_id": experiment_id})), None)
        if stage is None:
            raise NotFound(
                f"experiment {experiment_id} does not exist",
                field="experiment_id",
                details={"resource": "experiment", "experiment_id": str(experiment_id)},
            )
        return LifecycleStage(stage)

    def get_by_name(self, conn: Connection, name: str) -> Experiment:
        row = next(iter(_BY_NAME.rows(conn, {"name": name})), None)
        if row is None:
            raise NotFound(
                f"experiment {name!r} does not exist",
                field="name",
                details={"resource": "experiment", "name": name},
            )
        return self._hydrate(conn, [row])[0]

    def search(
        self,
        conn: Connection,
        *,
        view: ViewType,
        name_like: str | None,
        max_results: int,
        offset: int,
        only: set[str] | None = None,
        conditions: Sequence[Condition] = (),
        order: Sequence[OrderKey] | None = None,
    ) -> list[Experiment]:
        """Experiments in a lifecycle view matching every condition (MLflow's experiment filter)
        and ``name_like`` (case-insensitive); by ``order`` then newest first, or by id when
        ``order`` is None."""
        query = select(*_ROW).where(_E.c.lifecycle_stage.in_(_stages(view)))
        if only is not None:  # the experiments a reader may see
            query = query.where(_E.c.experiment_id.in_([int(i) for i in only]))
        if name_like is not None:
            query = query.where(func.lower(_E.c.name).like(name_like.lower()))
        for c in conditions:
            query = query.where(_condition(c))
        query = query.order_by(*_order(order)).limit(max_results).offset(offset)
        return self._hydrate(conn, conn.execute(query).all())

    def rename(self, conn: Connection, experiment_id: int, name: str, now: int) -> None:
        try:
            conn.execute(
                update(_E)
                .where(_E.c.experiment_id == experiment_id)
                .values(name=name, last_update_time=now)
            )
        except IntegrityError as exc:
            raise AlreadyExists(f"experiment {name!r} already exists", field="name") from exc

    def set_stage(
        self, conn: Connection, experiment_id: int, stage: LifecycleStage, now: int
    ) -> None:
        conn.execute(
            update(_E)
            .where(_E.c.experiment_id == experiment_id)
            .values(lifecycle_stage=stage.value, last_update_time=now)
        )

    def set_tags(self, conn: Connection, experiment_id: int, tags: dict[str, str]) -> None:
        if tags:
            upsert(
                conn,
                schema.experiment_tags,
                [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()],
                keys=("experiment_id", "key"),
            )

    def delete_tag(self, conn: Connection, experiment_id: int, key: str) -> bool:
        """Whether the experiment had the tag."""
        table = schema.experiment_tags
        done = conn.execute(
            delete(table).where(table.c.experiment_id == experiment_id, table.c.key == key)
        )
        return bool(done.rowcount)

    def _hydrate(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> list[Experiment]:
        """Experiments from rows of ``_ROW``, with their tags."""
        ids = [row[0] for row in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        if len(ids) == 1:  # one experiment: no IN list to render per call
            one = tags[ids[0]]
            for key, value in _TAGS_OF.rows(conn, {"experiment_id": ids[0]}):
                one[key] = value
        elif ids:
            for experiment_id, key, value in conn.execute(_TAGS_OF_MANY, {"ids": ids}):
                tags[experiment_id][key] = value
        return [
            Experiment(
                experiment_id=str(experiment_id),
                name=name,
                artifact_location=location,
                lifecycle_stage=LifecycleStage(stage),
                creation_time=created,
                last_update_time=updated,
                tags=tags[experiment_id],
            )
            for experiment_id, name, location, stage, created, updated in rows
        ]


def _condition(c: Condition) -> ColumnElement[bool]:
    if c.entity == "tag":
        has_key = exists().where(_T.c.experiment_id == _E.c.experiment_id, _T.c.key == c.key)
        if c.comparator == "IS NULL":
            return ~has_key
        if c.comparator == "IS NOT NULL":
            return has_key
        # A missing tag fails every comparison, != included, as in MLflow.
        return has_key.where(compare(_T.c.value, c.comparator, c.value))
    column = _COLUMNS[c.key]
    if c.key == "experiment_id":  # compared as the string MLflow's clients hold
        column = cast(column, String)
    elif c.key == "name":
        column = binary(column)
    return compare(column, c.comparator, c.value)


def _order(order: Sequence[OrderKey] | None) -> list[Any]:
    if order is None:
        return [_E.c.experiment_id]
    terms: list[Any] = []
    for key in order:
        column = binary(_COLUMNS[key.key]) if key.key == "name" else _COLUMNS[key.key]
        terms.append(column.asc() if key.ascending else column.desc())
    keys = {k.key for k in order}
    if not keys:  # MLflow's default: newest first
        terms.append(_E.c.creation_time.desc())
    if "experiment_id" not in keys:
        terms.append(_E.c.experiment_id.desc())
    return terms
