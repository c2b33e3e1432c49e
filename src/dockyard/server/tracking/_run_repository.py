"""SQL for runs: info, params, tags, metric history and latest values, dataset inputs.

The statements of the hot paths (a run's info, the data of a page of runs, a history page) are
built once at import: building a SQLAlchemy statement costs more than SQLite takes to run it, and a
reused statement also keeps its compiled form in the engine's cache.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Insert,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.exc import IntegrityError

from dockyard.api.tracking import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    ModelOutput,
    Run,
    RunInfo,
    RunStatus,
)
from dockyard.errors import Conflict, NotFound
from dockyard.server.store import (
    DriverInsert,
    DriverSelect,
    insert_ignore,
    schema,
    upsert,
    upsert_statement,
)

__all__ = ["HistoryPoint", "RunRepository"]

_R = schema.runs
_LM = schema.latest_metrics
_M = schema.metrics
_P = schema.params
_T = schema.tags
_RI = schema.run_inputs
_DS = schema.datasets
_RM = schema.run_models
_LMS = schema.logged_models


class HistoryPoint(NamedTuple):
    """One point of a metric's history, as read back.

    A plain tuple rather than a :class:`Metric`: a history page holds up to 100,000 points, and
    an entity per point cost more than reading them from the database.
    """

    key: str
    value: float
    timestamp: int
    step: int


class MetricPoint(Protocol):
    """Anything shaped like a metric point (the request model, the entity, a history point)."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...


# (run_id, key, value, is_nan, timestamp, step), the columns of metrics and latest_metrics.
_MetricRow = tuple[str, str, float, bool, int, int]
_METRIC_COLUMNS = ("run_id", "key", "value", "is_nan", "timestamp", "step")


def _is_newer(new: Any) -> ColumnElement[bool]:
    """Whether an upserted latest value replaces the stored one (module-level: see upsert)."""
    return tuple_(new.step, new.timestamp, new.value) >= tuple_(
        _LM.c.step, _LM.c.timestamp, _LM.c.value
    )


_IDS: BindParameter[str] = bindparam("ids", expanding=True)
# A run's info, in the order RunRepository._info reads it.
_INFO_COLUMNS = (
    _R.c.run_id,
    _R.c.name,
    _R.c.experiment_id,
    _R.c.user_id,
    _R.c.status,
    _R.c.start_time,
    _R.c.end_time,
    _R.c.artifact_uri,
    _R.c.lifecycle_stage,
    _R.c.parent_run_id,
)
# Every write to a run reads its info first (a log_metric included): on SQLite's driver.
_INFO = DriverSelect(select(*_INFO_COLUMNS).where(_R.c.run_id == bindparam("run_id")))


class _RunReads(NamedTuple):
    """The statements that read runs with their data, all matching ``run_id`` one way; every
    row starts with the run id and is read by position."""

    infos: Select[Any]
    params: Select[Any]
    tags: Select[Any]
    latest: Select[Any]
    inputs: Select[Any]
    models: Select[Any]


def _run_reads(match: Callable[[ColumnElement[str]], ColumnElement[bool]]) -> _RunReads:
    return _RunReads(
        infos=select(*_INFO_COLUMNS).where(match(_R.c.run_id)),
        params=select(_P.c.run_id, _P.c.key, _P.c.value).where(match(_P.c.run_id)),
        tags=select(_T.c.run_id, _T.c.key, _T.c.value).where(match(_T.c.run_id)),
        latest=select(
            _LM.c.run_id, _LM.c.key, _LM.c.value, _LM.c.is_nan, _LM.c.timestamp, _LM.c.step
        ).where(match(_LM.c.run_id)),
        inputs=select(
            _RI.c.run_id,
            _RI.c.tags,
            _DS.c.name,
            _DS.c.digest,
            _DS.c.source_type,
            _DS.c.source,
            _DS.c.schema,
            _DS.c.profile,
        )
        .join(_DS, _DS.c.dataset_id == _RI.c.dataset_id)
        .where(match(_RI.c.run_id)),
        # In the order the models were created, as a client logged them.
        models=select(_RM.c.run_id, _RM.c.model_id, _RM.c.direction, _RM.c.step)
        .join(_LMS, _LMS.c.model_id == _RM.c.model_id)
        .where(match(_RM.c.run_id))
        .order_by(_RM.c.step, _LMS.c.creation_time, _RM.c.model_id),
    )


# Several runs by an IN list, and one run by equality: an expanding IN list is rendered into
# the SQL on every call, which cost ~10 µs a statement, six statements a run. One run (the
# common read: a run page, a client's get_run) goes to SQLite's driver directly, see
# DriverSelect.
_MANY = _run_reads(lambda column: column.in_(_IDS))
_ONE = tuple(DriverSelect(read) for read in _run_reads(lambda column: column == bindparam("ids")))
_HISTORY = (
    select(_M.c.value, _M.c.is_nan, _M.c.timestamp, _M.c.step)
    .where(_M.c.run_id == bindparam("run_id"), _M.c.key == bindparam("key"))
    .order_by(_M.c.step, _M.c.timestamp, _M.c.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


# The points of one window of a history, for a chart: by step or by time, bounds inclusive.
def _in_window(axis: str) -> ColumnElement[bool]:
    return and_(
        _M.c.run_id == bindparam("run_id"),
        _M.c.key == bindparam("key"),
        _M.c[axis] >= bindparam("lo"),
        _M.c[axis] <= bindparam("hi"),
    )


_WINDOW = {
    axis: select(_M.c.step, _M.c.timestamp, _M.c.value, _M.c.is_nan)
    .where(_in_window(axis))
    .order_by(_M.c.step, _M.c.timestamp, _M.c.id)
    for axis in ("step", "timestamp")
}
_SPAN = {
    axis: select(func.count(), func.min(_M.c[axis]), func.max(_M.c[axis])).where(_in_window(axis))
    for axis in ("step", "timestamp")
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _extremes(axis: str, dialect: str) -> tuple[Select[Any], Select[Any]]:
    """The lowest and the highest point of each bucket of a window (NaN only where a bucket
    holds nothing else), as two statements. One pass over the window each, in the database:
    sampling 100,000 points this way reads 2,000 rows instead of 100,000 (~70 ms instead of
    ~250 ms on SQLite)."""
    bucket = ((_M.c[axis] - bindparam("origin")) * bindparam("buckets")) // bindparam("span")
    columns = (_M.c.id, _M.c.step, _M.c.timestamp, _M.c.value, _M.c.is_nan)
    if dialect == "postgresql":
        base = select(*columns).where(_in_window(axis)).ext(distinct_on(bucket))
        # id last: a bucket of NaN alone (or of one value) gives one row to both statements.
        return (
            base.order_by(bucket, _M.c.is_nan, _M.c.value, _M.c.id),
            base.order_by(bucket, _M.c.is_nan, _M.c.value.desc(), _M.c.id),
        )
    # SQLite: with exactly one min() or max() in a grouped query, the other columns come from
    # the row that holds it (https://sqlite.org/lang_select.html#bare_columns_in_an_aggregate
    # _query); NaN (stored as 0.0 with a flag) counts as no value.
    number = case((_M.c.is_nan, None), else_=_M.c.value)
    return tuple(  # type: ignore[return-value]
        select(*columns, aggregate(number)).where(_in_window(axis)).group_by(bucket)
        for aggregate in (func.min, func.max)
    )


def _history_insert(dialect: str) -> Insert:
    # A point already stored (same key, value, step and timestamp: a retried write) is skipped
    # by the unique index, as MLflow's store does.
    module = postgresql if dialect == "postgresql" else sqlite
    built: Insert = module.insert(schema.metrics).on_conflict_do_nothing()
    return built


_HISTORY_INSERT = DriverInsert(_history_insert, _METRIC_COLUMNS)
_LATEST_UPSERT = DriverInsert(
    lambda dialect: upsert_statement(dialect, _LM, _METRIC_COLUMNS, ("run_id", "key"), _is_newer),
    _METRIC_COLUMNS,
)


def _window_bind(run_id: str, key: str, lo: int | None, hi: int | None) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "key": key,
        "lo": _INT64_MIN if lo is None else lo,
        "hi": _INT64_MAX if hi is None else hi,
    }


class RunRepository:
    """Reads and writes runs; callers own the transaction."""

    def create(
        self,
        conn: Connection,
        *,
        run_id: str,
        experiment_id: int,
        name: str,
        user_id: str,
        start_time: int,
        artifact_uri: str,
        parent_run_id: str | None,
        owner_id: int | None = None,
    ) -> RunInfo:
        """Insert a RUNNING run; returns its info as stored, so callers need not read it back."""
        info = RunInfo(
            run_id=run_id,
            run_name=name,
            experiment_id=str(experiment_id),
            user_id=user_id,
            status=RunStatus.RUNNING,
            start_time=start_time,
            end_time=None,
            artifact_uri=artifact_uri,
            lifecycle_stage=LifecycleStage.ACTIVE,
            parent_run_id=parent_run_id,
        )
        conn.execute(
            _R.insert().values(
                run_id=run_id,
                experiment_id=experiment_id,
                name=name,
                user_id=user_id,
                status=info.status.value,
                start_time=start_time,
                end_time=None,
                lifecycle_stage=info.lifecycle_stage.value,
                artifact_uri=artifact_uri,
                parent_run_id=parent_run_id,
                owner_id=owner_id,
            )
        )
        return info

    def info(self, conn: Connection, run_id: str) -> RunInfo:
        row = next(iter(_INFO.rows(conn, {"run_id": run_id})), None)
        if row is None:
            raise NotFound(
                f"run {run_id!r} does not exist",
                field="run_id",
                details={"resource": "run", "run_id": run_id},
            )
        return self._info(row)

    def owner_of(self, conn: Connection, run_id: str) -> int | None:
        """The account that made run ``run_id``, if an account did."""
        found = conn.execute(select(_R.c.owner_id).where(_R.c.run_id == run_id)).scalar()
        return None if found is None else int(found)

    def parent_exists(self, conn: Connection, run_id: str) -> bool:
        """Whether ``run_id`` names a run (any string may come in a client's tag)."""
        if len(run_id) > 32:
            return False
        return conn.execute(select(_R.c.run_id).where(_R.c.run_id == run_id)).first() is not None

    def parent_of(self, conn: Connection, run_id: str) -> str | None:
        """The id of the run ``run_id`` is nested under (None at the top, or if unknown)."""
        found = conn.execute(select(_R.c.parent_run_id).where(_R.c.run_id == run_id)).scalar()
        return None if found is None else str(found)

    def lock(self, conn: Connection, run_id: str) -> None:
        """Lock the run's row until the transaction ends (a no-op on SQLite)."""
        conn.execute(select(_R.c.run_id).where(_R.c.run_id == run_id).with_for_update())

    def update(self, conn: Connection, run_id: str, **values: Any) -> None:
        if values:
            conn.execute(update(_R).where(_R.c.run_id == run_id).values(**values))

    def get_many(self, conn: Connection, run_ids: Sequence[str]) -> list[Run]:
        """Runs with their data, in the order of ``run_ids`` (missing ids are skipped)."""
        if not run_ids:
            return []
        ids = list(run_ids)
        rows: Callable[[int], Iterable[Any]]
        if len(ids) == 1:
            one = {"ids": ids[0]}
            rows = lambda i: _ONE[i].rows(conn, one)  # noqa: E731
        else:
            many = {"ids": ids}
            rows = lambda i: conn.execute(_MANY[i], many)  # noqa: E731
        # Results are iterated, never .all(): see metric_history.
        infos = {row[0]: row for row in rows(0)}
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, Metric]] = {i: {} for i in ids}
        inputs: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        model_inputs: dict[str, list[str]] = {i: [] for i in ids}
        outputs: dict[str, list[ModelOutput]] = {i: [] for i in ids}
        for run_id, key, value in rows(1):
            params[run_id][key] = value
        for run_id, key, value in rows(2):
            tags[run_id][key] = value
        for run_id, key, value, is_nan, timestamp, step in rows(3):
            # The validating constructor on purpose: pydantic validates in Rust (0.9 µs here),
            # while model_construct fills the fields in Python (1.5 µs).
            metrics[run_id][key] = Metric(
                key=key, value=math.nan if is_nan else value, timestamp=timestamp, step=step
            )
        for run_id, run_tags, name, digest, source_type, source, schema_, profile in rows(4):
            dataset = Dataset(
                name=name,
                digest=digest,
                source_type=source_type,
                source=source,
                schema_=schema_,
                profile=profile,
            )
            inputs[run_id].append(DatasetInput(dataset=dataset, tags=orjson.loads(run_tags)))
        for run_id, model_id, direction, step in rows(5):
            if direction == "output":
                outputs[run_id].append(ModelOutput(model_id=model_id, step=step))
            else:
                model_inputs[run_id].append(model_id)
        return [
            Run(
                info=self._info(infos[i]),
                params=params[i],
                metrics=metrics[i],
                tags=tags[i],
                inputs=inputs[i],
                model_inputs=model_inputs[i],
                outputs=outputs[i],
            )
            for i in ids
            if i in infos
        ]

    def log_params(self, conn: Connection, run_id: str, params: dict[str, str]) -> None:
        """Insert params; re-logging the same value is a no-op, a different value a conflict."""
        if not params:
            return
        p = schema.params
        existing = conn.execute(
            select(p.c.key, p.c.value).where(p.c.run_id == run_id, p.c.key.in_(list(params)))
        ).all()
        for key, value in existing:
            if params[key] != value:
                raise Conflict(
                    f"param {key!r} of run {run_id} was already logged as {value!r}; "
                    f"params are immutable, so {params[key]!r} cannot replace it",
                    field=f"params.{key}",
                    details={"key": key, "old_value": value, "new_value": params[key]},
                )
        known = {key for key, _ in existing}
        rows = [
            {"run_id": run_id, "key": k, "value": v} for k, v in params.items() if k not in known
        ]
        if not rows:
            return
        try:
            # In a savepoint: on PostgreSQL another server process may log one of them between
            # the read above and this insert (a client's retry), which then fails on the key.
            with conn.begin_nested():
                conn.execute(p.insert(), rows)
        except IntegrityError:
            # Read again: the same value is stored once, another one is the conflict above.
            self.log_params(conn, run_id, {row["key"]: row["value"] for row in rows})

    def set_tags(self, conn: Connection, run_id: str, tags: dict[str, str]) -> None:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        upsert(conn, schema.tags, rows, keys=("run_id", "key"))

    def delete_tag(self, conn: Connection, run_id: str, key: str) -> None:
        t = schema.tags
        result = conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key == key))
        if result.rowcount == 0:
            raise NotFound(
                f"run {run_id} has no tag {key!r}",
                field="key",
                details={"resource": "run_tag", "run_id": run_id, "key": key},
            )

    def claim_batch(self, conn: Connection, run_id: str, batch_id: str, now: int) -> bool:
        """Record an idempotency key; False when that batch was applied before."""
        row = {"batch_id": batch_id, "run_id": run_id, "created_time": now}
        return insert_ignore(conn, schema.applied_batches, [row], keys=("batch_id",)) == 1

    def log_metrics(self, conn: Connection, run_id: str, metrics: Sequence[MetricPoint]) -> None:
        """Append to the history (once per distinct point) and move each key's latest value
        forward."""
        if not metrics:
            return
        rows: list[_MetricRow] = []
        # Per key, the best (rank, row) so far. MLflow's "latest": highest step, then timestamp,
        # then value, NaN counting as lowest. One pass, no helper call per point: a batch holds
        # up to 10,000 points.
        latest: dict[str, tuple[tuple[int, int, float], _MetricRow]] = {}
        lowest, isnan = -math.inf, math.isnan
        for m in metrics:
            key, value, timestamp, step = m.key, m.value, m.timestamp, m.step
            nan = isnan(value)
            row = (run_id, key, 0.0 if nan else value, nan, timestamp, step)
            rows.append(row)
            rank = (step, timestamp, lowest if nan else value)
            current = latest.get(key)
            if current is None or rank > current[0]:
                latest[key] = (rank, row)
        # The hot path of metric logging: plain tuples to the driver, skipping per-row parameter
        # processing, which costs more than the insert itself.
        _HISTORY_INSERT.execute(conn, rows)
        _LATEST_UPSERT.execute(conn, [row for _, row in latest.values()])

    def metric_history(
        self, conn: Connection, run_id: str, key: str, *, max_results: int, offset: int
    ) -> list[HistoryPoint]:
        bind = {"run_id": run_id, "key": key, "limit": max_results, "offset": offset}
        nan = math.nan
        # Iterated, not .all(): a list of 25,000 Row objects lives long enough to be promoted to
        # the oldest GC generation and set off a full collection (it tripled a page's read time),
        # while each Row dropped here dies young and the HistoryPoint tuples, holding only
        # numbers and strings, are untracked by the first young collection.
        return [
            HistoryPoint(key, nan if is_nan else value, timestamp, step)
            for value, is_nan, timestamp, step in conn.execute(_HISTORY, bind)
        ]

    def first_metric_key(self, conn: Connection, run_ids: Sequence[str]) -> str | None:
        """The first, in key order, of the metrics any of ``run_ids`` logged as a curve (its
        latest point past step 0), else of those they logged at all; None if none. A chart
        of single values (``best_rmse``, step 0) is a dot per run: a curve is what a comparison
        shows first, as MLflow and Comet do."""
        for where in (_LM.c.step > 0, true()):
            key = conn.execute(
                select(func.min(_LM.c.key)).where(_LM.c.run_id.in_(run_ids), where)
            ).scalar()
            if key is not None:
                return str(key)
        return None

    def metric_window(
        self,
        conn: Connection,
        run_id: str,
        key: str,
        *,
        axis: str,
        lo: int | None,
        hi: int | None,
    ) -> tuple[list[int], list[int], list[float]]:
        """The steps, timestamps and values (NaN where logged so) of a metric's points whose
        ``axis`` (``step`` or ``timestamp``) lies in ``[lo, hi]``, in history order."""
        bind = _window_bind(run_id, key, lo, hi)
        steps: list[int] = []
        timestamps: list[int] = []
        values: list[float] = []
        nan = math.nan
        # Columns rather than a tuple per point: three lists are three objects for the garbage
        # collector to look at, however long the history (see metric_history). The driver's
        # rows are read in chunks, as its plain tuples: through the Result, each row costs a
        # fetchone call and a Row (2/3 of a 50-run comparison's read time). Every column is
        # an integer or a float the driver answers as such (is_nan only tested for truth).
        result = conn.execute(_WINDOW[axis], bind)
        cursor = result.cursor
        try:
            while rows := cursor.fetchmany(2000):
                step, timestamp, value, is_nan = zip(*rows, strict=True)
                steps.extend(step)
                timestamps.extend(timestamp)
                if any(is_nan):
                    values.extend(nan if bad else v for v, bad in zip(value, is_nan, strict=True))
                else:
                    values.extend(value)
        finally:
            result.close()
        return steps, timestamps, values

    def metric_window_span(
        self, conn: Connection, run_id: str, key: str, *, axis: str, lo: int | None, hi: int | None
    ) -> tuple[int, int, int]:
        """How many points a window holds, and their smallest and largest ``axis`` value (0
        and 0 when none)."""
        bind = _window_bind(run_id, key, lo, hi)
        count, low, high = conn.execute(_SPAN[axis], bind).one()
        return int(count), int(low or 0), int(high or 0)

    def metric_window_extremes(
        self,
        conn: Connection,
        run_id: str,
        key: str,
        *,
        axis: str,
        lo: int | None,
        hi: int | None,
        origin: int,
        buckets: int,
        span: int,
    ) -> tuple[list[int], list[int], list[float]]:
        """As :meth:`metric_window`, only the lowest and highest point of each of ``buckets``
        equal buckets of ``span`` values of ``axis`` from ``origin``. The caller makes sure
        ``span * buckets`` fits in 63 bits."""
        bind = {**_window_bind(run_id, key, lo, hi), "origin": origin, "buckets": buckets}
        bind["span"] = span
        found: dict[int, tuple[int, int, float]] = {}
        nan = math.nan
        for statement in _extremes(axis, conn.dialect.name):
            for row in conn.execute(statement, bind):
                found[row.id] = (row.step, row.timestamp, nan if row.is_nan else row.value)
        points = sorted(found.items(), key=lambda item: (item[1][0], item[1][1], item[0]))
        return (
            [p[0] for _, p in points],
            [p[1] for _, p in points],
            [p[2] for _, p in points],
        )

    def log_inputs(
        self, conn: Connection, run_id: str, experiment_id: int, inputs: Iterable[DatasetInput]
    ) -> None:
        ds = schema.datasets
        for item in inputs:
            d = item.dataset
            same = select(ds.c.dataset_id).where(
                ds.c.experiment_id == experiment_id, ds.c.name == d.name, ds.c.digest == d.digest
            )
            found = conn.execute(same).scalar()
            if found is None:
                found = uuid.uuid4().hex
                try:
                    # In a savepoint: another run of the experiment (a parallel tuning trial,
                    # on another server process) may record the same dataset meanwhile.
                    with conn.begin_nested():
                        conn.execute(
                            ds.insert().values(
                                dataset_id=found,
                                experiment_id=experiment_id,
                                name=d.name,
                                digest=d.digest,
                                source_type=d.source_type,
                                source=d.source,
                                schema=d.schema_,
                                profile=d.profile,
                            )
                        )
                except IntegrityError:
                    found = conn.execute(same).scalar_one()
            upsert(
                conn,
                schema.run_inputs,
                [{"run_id": run_id, "dataset_id": found, "tags": orjson.dumps(item.tags).decode()}],
                keys=("run_id", "dataset_id"),
            )

    def run_ids_page(self, conn: Connection, query: Any) -> list[str]:
        return [row[0] for row in conn.execute(query)]

    @staticmethod
    def _info(row: Sequence[Any]) -> RunInfo:
        """A run's info from a row of ``_INFO_COLUMNS``."""
        run_id, name, experiment_id, user_id, status, start, end, uri, stage, parent = row
        return RunInfo(
            run_id=run_id,
            run_name=name,
            experiment_id=str(experiment_id),
            user_id=user_id,
            status=RunStatus(status),
            start_time=start,
            end_time=end,
            artifact_uri=uri,
            lifecycle_stage=LifecycleStage(stage),
            parent_run_id=parent,
        )
