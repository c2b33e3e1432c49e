"""SQL for logged models: the model rows, their params, tags and linked metrics, run links.

The search compiles MLflow's logged-model filter (parsed by :mod:`._search_parse` with the
``LOGGED_MODELS`` grammar) into one query over ``logged_models``: every condition on a metric,
param or tag is a correlated ``EXISTS`` on that table's primary key (or unique index), and a
metric in ``order_by`` sorts by the model's latest point for that key (newest timestamp, then
highest step, then the lowest run id, as MLflow picks it), models without one (or with NaN)
last.

Where MLflow 3.17's server differs, it is by a defect this does not copy: there, a ``datasets``
entry without a digest matches no model (the digest is compared with NULL), ``status = 'READY'``
matches nothing (status is stored as a number), a NaN metric sorts as 0, and an unknown
attribute is a 500.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    delete,
    exists,
    false,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from dockyard.api.tracking import (
    DatasetFilter,
    LifecycleStage,
    LinkedMetric,
    LoggedModel,
    LoggedModelOrder,
    LoggedModelStatus,
    MetricIn,
    ModelOutput,
)
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.server.store import schema, upsert
from dockyard.server.tracking._search import (
    LOGGED_MODELS,
    Condition,
    binary,
    compare,
    metric_compare,
)

__all__ = ["LoggedModelRepository", "not_found"]

_LM = schema.logged_models
_P = schema.logged_model_params
_T = schema.logged_model_tags
_M = schema.logged_model_metrics
_RM = schema.run_models

_ATTRIBUTES: dict[str, Any] = {
    "model_id": _LM.c.model_id,
    "name": _LM.c.name,
    "status": _LM.c.status,
    "model_type": _LM.c.model_type,
    "source_run_id": _LM.c.source_run_id,
    "creation_timestamp": _LM.c.creation_time,
    "last_updated_timestamp": _LM.c.last_updated_time,
}
_NUMERIC = {"creation_timestamp", "last_updated_timestamp"}
_ZERO, _ONE = literal_column("0", Integer()), literal_column("1", Integer())
_INPUT, _OUTPUT = "input", "output"


def not_found(model_id: str) -> NotFound:
    """MLflow's words for an unknown logged model (its clients match them)."""
    return NotFound(f"Logged model with ID '{model_id}' not found.", field="model_id")


def _insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(module.insert(table).on_conflict_do_nothing(), rows)


class LoggedModelRepository:
    """Reads and writes logged models; callers own the transaction."""

    # -- models ---------------------------------------------------------------------------------

    def create(self, conn: Connection, **values: Any) -> None:
        conn.execute(_LM.insert().values(**values))

    def row(self, conn: Connection, model_id: str, *, allow_deleted: bool = False) -> Any:
        """The model's row; NotFound for an unknown (or, unless allowed, deleted) one."""
        row = conn.execute(select(_LM).where(_LM.c.model_id == model_id)).first()
        if row is None or (
            not allow_deleted and row.lifecycle_stage != LifecycleStage.ACTIVE.value
        ):
            raise not_found(model_id)
        return row

    def rows(self, conn: Connection, model_ids: Sequence[str]) -> list[Any]:
        """Rows of the models that exist among ``model_ids`` (deleted ones included)."""
        if not model_ids:
            return []
        return list(conn.execute(select(_LM).where(_LM.c.model_id.in_(sorted(set(model_ids))))))

    def newest_of_run(self, conn: Connection, run_id: str, name: str) -> str | None:
        """The newest active model called ``name`` whose source run is ``run_id``."""
        found = conn.execute(
            select(_LM.c.model_id)
            .where(
                _LM.c.source_run_id == run_id,
                _LM.c.name == name,
                _LM.c.lifecycle_stage == LifecycleStage.ACTIVE.value,
            )
            .order_by(_LM.c.creation_time.desc(), _LM.c.model_id)
            .limit(1)
        ).scalar()
        return None if found is None else str(found)

    def of_run(self, conn: Connection, run_id: str) -> list[str]:
        """The active models run ``run_id`` produced: its source run, or an output it logged,
        oldest first."""
        outputs = select(_RM.c.model_id).where(_RM.c.run_id == run_id, _RM.c.direction == _OUTPUT)
        found = conn.execute(
            select(_LM.c.model_id)
            .where(
                or_(_LM.c.source_run_id == run_id, _LM.c.model_id.in_(outputs)),
                _LM.c.lifecycle_stage == LifecycleStage.ACTIVE.value,
            )
            .order_by(_LM.c.creation_time, _LM.c.model_id)
        ).scalars()
        return [str(m) for m in found]

    def update(self, conn: Connection, model_id: str, **values: Any) -> None:
        conn.execute(update(_LM).where(_LM.c.model_id == model_id).values(**values))

    def get_many(self, conn: Connection, model_ids: Sequence[str]) -> list[LoggedModel]:
        """Models with their tags, params and linked metrics, in ``model_ids`` order."""
        if not model_ids:
            return []
        ids = list(model_ids)
        rows = {r.model_id: r for r in conn.execute(select(_LM).where(_LM.c.model_id.in_(ids)))}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, list[LinkedMetric]] = {i: [] for i in ids}
        for model_id, key, value in conn.execute(
            select(_T.c.model_id, _T.c.key, _T.c.value).where(_T.c.model_id.in_(ids))
        ):
            tags[model_id][key] = value
        for model_id, key, value in conn.execute(
            select(_P.c.model_id, _P.c.key, _P.c.value).where(_P.c.model_id.in_(ids))
        ):
            params[model_id][key] = value
        for m in conn.execute(
            select(_M).where(_M.c.model_id.in_(ids)).order_by(_M.c.step, _M.c.timestamp, _M.c.id)
        ):
            metrics[m.model_id].append(
                LinkedMetric(
                    key=m.key,
                    value=math.nan if m.is_nan else m.value,
                    timestamp=m.timestamp,
                    step=m.step,
                    run_id=m.run_id,
                    dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest,
                )
            )
        return [
            LoggedModel(
                model_id=r.model_id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                status=LoggedModelStatus(r.status),
                status_message=r.status_message,
                model_type=r.model_type,
                source_run_id=r.source_run_id,
                creator=r.creator,
                lifecycle_stage=LifecycleStage(r.lifecycle_stage),
                creation_time=r.creation_time,
                last_updated_time=r.last_updated_time,
                tags=tags[i],
                params=params[i],
                metrics=metrics[i],
            )
            for i in ids
            if (r := rows.get(i)) is not None
        ]

    # -- params and tags ------------------------------------------------------------------------

    def log_params(self, conn: Connection, model_id: str, params: dict[str, str]) -> None:
        """Insert params; re-logging the same value is a no-op, a different one a conflict."""
        if not params:
            return
        existing = dict(
            conn.execute(
                select(_P.c.key, _P.c.value).where(
                    _P.c.model_id == model_id, _P.c.key.in_(list(params))
                )
            ).all()
        )
        for key, value in existing.items():
            if params[key] != value:
                raise Conflict(
                    f"param {key!r} of logged model {model_id} was already logged as {value!r}; "
                    f"params are immutable, so {params[key]!r} cannot replace it",
                    field=f"params.{key}",
                )
        rows = [
            {"model_id": model_id, "key": k, "value": v}
            for k, v in params.items()
            if k not in existing
        ]
        if not rows:
            return
        try:
            # In a savepoint: on PostgreSQL another server process may log one of them between
            # the read above and this insert (a client's retry), which then fails on the key.
            with conn.begin_nested():
                conn.execute(_P.insert(), rows)
        except IntegrityError:
            # Read again: the same value is stored once, another one is the conflict above.
            self.log_params(conn, model_id, {row["key"]: row["value"] for row in rows})

    def set_tags(self, conn: Connection, model_id: str, tags: dict[str, str]) -> None:
        rows = [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
        upsert(conn, _T, rows, keys=("model_id", "key"))

    def tag(self, conn: Connection, model_id: str, key: str) -> str | None:
        return conn.execute(
            select(_T.c.value).where(_T.c.model_id == model_id, _T.c.key == key)
        ).scalar()

    def delete_tag(self, conn: Connection, model_id: str, key: str) -> None:
        result = conn.execute(delete(_T).where(_T.c.model_id == model_id, _T.c.key == key))
        if result.rowcount == 0:
            raise NotFound(
                f"No tag with key {key!r} found for model with ID {model_id!r}.", field="key"
            )

    # -- linked metrics and run links -------------------------------------------------------------

    def link_metrics(self, conn: Connection, run_id: str, metrics: Sequence[MetricIn]) -> None:
        """Store points a run logged against models (each once, as the run's history does)."""
        rows = []
        for m in metrics:
            nan = math.isnan(m.value)
            rows.append(
                {
                    "model_id": m.model_id,
                    "run_id": run_id,
                    "key": m.key,
                    "value": 0.0 if nan else m.value,
                    "is_nan": nan,
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest,
                }
            )
        if rows:
            _insert_ignore(conn, _M, rows)

    def link_runs(
        self, conn: Connection, run_id: str, outputs: Sequence[ModelOutput], inputs: Sequence[str]
    ) -> None:
        """Record models a run produced (with their step) and consumed."""
        rows = [
            {"run_id": run_id, "model_id": o.model_id, "direction": _OUTPUT, "step": o.step}
            for o in outputs
        ] + [{"run_id": run_id, "model_id": m, "direction": _INPUT, "step": 0} for m in inputs]
        upsert(conn, _RM, rows, keys=("run_id", "model_id", "direction"))

    # -- search -----------------------------------------------------------------------------------

    def search(
        self,
        conn: Connection,
        *,
        experiment_ids: Sequence[int],
        conditions: Sequence[Condition],
        datasets: Sequence[DatasetFilter],
        order_by: Sequence[LoggedModelOrder],
        limit: int,
        offset: int,
    ) -> list[str]:
        """Ids of the active models matching every condition, in result order."""
        query = self._query(experiment_ids, conditions, datasets, order_by)
        return [row[0] for row in conn.execute(query.limit(limit).offset(offset))]

    def _query(
        self,
        experiment_ids: Sequence[int],
        conditions: Sequence[Condition],
        datasets: Sequence[DatasetFilter],
        order_by: Sequence[LoggedModelOrder],
    ) -> Select[Any]:
        dataset_match = _dataset_match(datasets)
        where: list[ColumnElement[bool]] = [
            _LM.c.experiment_id.in_(list(experiment_ids)),
            _LM.c.lifecycle_stage == LifecycleStage.ACTIVE.value,
        ]
        has_metric_filter = False
        for c in conditions:
            if c.entity == "attribute":
                where.append(compare(_ATTRIBUTES[c.key], c.comparator, c.value))
            elif c.entity == "metric":
                has_metric_filter = True
                assert isinstance(c.value, float)
                where.append(
                    exists().where(
                        _M.c.model_id == _LM.c.model_id,
                        _M.c.key == c.key,
                        metric_compare(_M, c.comparator, c.value),
                        dataset_match,
                    )
                )
            else:
                table = _P if c.entity == "param" else _T
                where.append(
                    exists().where(
                        table.c.model_id == _LM.c.model_id,
                        table.c.key == c.key,
                        compare(table.c.value, c.comparator, c.value),
                    )
                )
        if datasets and not has_metric_filter:
            where.append(exists().where(_M.c.model_id == _LM.c.model_id, dataset_match))
        terms: list[Any] = []
        names: set[str] = set()
        for order in order_by:
            column, name = _order_column(order)
            names.add(name)
            # Models without a value sort last in both directions, as in MLflow.
            terms.append(case((column.is_(None), _ONE), else_=_ZERO))
            terms.append(column.asc() if order.ascending else column.desc())
        if "creation_timestamp" not in names:
            terms.append(_LM.c.creation_time.desc())
        if "model_id" not in names:
            terms.append(_LM.c.model_id.asc())
        return select(_LM.c.model_id).where(*where).order_by(*terms)


def _dataset_match(datasets: Sequence[DatasetFilter]) -> ColumnElement[bool]:
    """Whether a linked point belongs to one of ``datasets`` (any point when none is named)."""
    if not datasets:
        return true()
    return or_(
        *(
            and_(
                _M.c.dataset_name == d.dataset_name,
                *([_M.c.dataset_digest == d.dataset_digest] if d.dataset_digest else []),
            )
            for d in datasets
        )
    )


def _order_column(order: LoggedModelOrder) -> tuple[Any, str]:
    """The value to sort by for one ordering key, and the attribute name it resolves to."""
    field = order.field_name
    entity, dot, key = field.partition(".")
    if not dot:
        name = LOGGED_MODELS.aliases.get(field, field)
        if name not in _ATTRIBUTES:
            raise InvalidArgument(
                f"invalid order_by field {field!r}: use one of {', '.join(_ATTRIBUTES)} or "
                "metrics.<key>",
                field="order_by",
            )
        column = _ATTRIBUTES[name]
        # Strings sort by code point on every database, as run searches sort them.
        return (column if name in _NUMERIC else binary(column)), name
    if entity not in ("metric", "metrics"):
        raise InvalidArgument(
            f"invalid order_by field {field!r}: logged models are ordered by attributes or "
            "metrics.<key> only",
            field="order_by",
        )
    conditions = [_M.c.model_id == _LM.c.model_id, _M.c.key == key.strip("`")]
    if order.dataset_name:
        conditions.append(_M.c.dataset_name == order.dataset_name)
    if order.dataset_digest:
        conditions.append(_M.c.dataset_digest == order.dataset_digest)
    latest = (
        select(case((_M.c.is_nan == false(), _M.c.value), else_=None))
        .where(*conditions)
        .order_by(_M.c.timestamp.desc(), _M.c.step.desc(), _M.c.run_id.asc())
        .limit(1)
        .scalar_subquery()
    )
    return latest, field
