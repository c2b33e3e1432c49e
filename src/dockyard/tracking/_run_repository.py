"""SQL for runs: info, params, tags, metric history and latest values, dataset inputs."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, delete, select, tuple_, update

from dockyard.errors import Conflict, NotFound
from dockyard.store import schema
from dockyard.store._upsert import insert_ignore, upsert
from dockyard.tracking._entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    Run,
    RunInfo,
    RunStatus,
)

__all__ = ["RunRepository"]

_R = schema.runs
_LM = schema.latest_metrics


class MetricPoint(Protocol):
    """Anything shaped like a metric point (the request model or the entity)."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...


def _metric_from_row(row: Any) -> Metric:
    # Rows come from our own tables, already validated on the way in: constructing without
    # validation keeps a 50,000-point history read fast.
    value = math.nan if row.is_nan else row.value
    return Metric.model_construct(key=row.key, value=value, timestamp=row.timestamp, step=row.step)


def _latest_key(metric: MetricPoint) -> tuple[int, int, float]:
    # MLflow's "latest": highest step, then timestamp, then value (NaN counts as lowest).
    value = -math.inf if math.isnan(metric.value) else metric.value
    return (metric.step, metric.timestamp, value)


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
    ) -> None:
        conn.execute(
            _R.insert().values(
                run_id=run_id,
                experiment_id=experiment_id,
                name=name,
                user_id=user_id,
                status=RunStatus.RUNNING.value,
                start_time=start_time,
                end_time=None,
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                artifact_uri=artifact_uri,
                parent_run_id=parent_run_id,
            )
        )

    def info(self, conn: Connection, run_id: str) -> RunInfo:
        row = conn.execute(select(_R).where(_R.c.run_id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id!r} does not exist", field="run_id")
        return self._info(row)

    def update(self, conn: Connection, run_id: str, **values: Any) -> None:
        if values:
            conn.execute(update(_R).where(_R.c.run_id == run_id).values(**values))

    def get_many(self, conn: Connection, run_ids: Sequence[str]) -> list[Run]:
        """Runs with their data, in the order of ``run_ids`` (missing ids are skipped)."""
        if not run_ids:
            return []
        ids = list(run_ids)
        infos = {row.run_id: row for row in conn.execute(select(_R).where(_R.c.run_id.in_(ids)))}
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, Metric]] = {i: {} for i in ids}
        inputs: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        p, t = schema.params, schema.tags
        for row in conn.execute(select(p).where(p.c.run_id.in_(ids))):
            params[row.run_id][row.key] = row.value
        for row in conn.execute(select(t).where(t.c.run_id.in_(ids))):
            tags[row.run_id][row.key] = row.value
        for row in conn.execute(select(_LM).where(_LM.c.run_id.in_(ids))):
            metrics[row.run_id][row.key] = _metric_from_row(row)
        ri, ds = schema.run_inputs, schema.datasets
        query = select(ri.c.run_id, ri.c.tags, ds).join(ds, ds.c.dataset_id == ri.c.dataset_id)
        for row in conn.execute(query.where(ri.c.run_id.in_(ids))):
            dataset = Dataset(
                name=row.name,
                digest=row.digest,
                source_type=row.source_type,
                source=row.source,
                schema_=row.schema,
                profile=row.profile,
            )
            inputs[row.run_id].append(DatasetInput(dataset=dataset, tags=orjson.loads(row.tags)))
        return [
            Run(
                info=self._info(infos[i]),
                params=params[i],
                metrics=metrics[i],
                tags=tags[i],
                inputs=inputs[i],
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
        if rows:
            conn.execute(p.insert(), rows)

    def set_tags(self, conn: Connection, run_id: str, tags: dict[str, str]) -> None:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        upsert(conn, schema.tags, rows, keys=("run_id", "key"))

    def delete_tag(self, conn: Connection, run_id: str, key: str) -> None:
        t = schema.tags
        result = conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key == key))
        if result.rowcount == 0:
            raise NotFound(f"run {run_id} has no tag {key!r}", field="key")

    def claim_batch(self, conn: Connection, run_id: str, batch_id: str, now: int) -> bool:
        """Record an idempotency key; False when that batch was applied before."""
        row = {"batch_id": batch_id, "run_id": run_id, "created_time": now}
        return insert_ignore(conn, schema.applied_batches, [row], keys=("batch_id",)) == 1

    def log_metrics(self, conn: Connection, run_id: str, metrics: Sequence[MetricPoint]) -> None:
        """Append to the history and move each key's latest value forward."""
        if not metrics:
            return
        rows = []
        latest: dict[str, MetricPoint] = {}
        isnan = math.isnan
        for m in metrics:
            nan = isnan(m.value)
            rows.append((run_id, m.key, 0.0 if nan else m.value, nan, m.timestamp, m.step))
            current = latest.get(m.key)
            if current is None or _latest_key(m) > _latest_key(current):
                latest[m.key] = m
        # The hot path of metric logging: hand plain tuples to the driver's executemany, skipping
        # per-row parameter processing, which costs more than the insert itself.
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(
            "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step) "
            f"VALUES ({', '.join([mark] * 6)})",
            rows,
        )
        latest_rows = [
            {
                "run_id": run_id,
                "key": m.key,
                "value": 0.0 if isnan(m.value) else m.value,
                "is_nan": isnan(m.value),
                "timestamp": m.timestamp,
                "step": m.step,
            }
            for m in latest.values()
        ]
        upsert(
            conn,
            _LM,
            latest_rows,
            keys=("run_id", "key"),
            where=lambda new: (
                tuple_(new.step, new.timestamp, new.value)
                >= tuple_(_LM.c.step, _LM.c.timestamp, _LM.c.value)
            ),
        )

    def metric_history(
        self, conn: Connection, run_id: str, key: str, *, max_results: int, offset: int
    ) -> list[Metric]:
        m = schema.metrics
        query = (
            select(m.c.key, m.c.value, m.c.is_nan, m.c.timestamp, m.c.step)
            .where(m.c.run_id == run_id, m.c.key == key)
            .order_by(m.c.step, m.c.timestamp, m.c.id)
            .limit(max_results)
            .offset(offset)
        )
        return [_metric_from_row(row) for row in conn.execute(query)]

    def log_inputs(
        self, conn: Connection, run_id: str, experiment_id: int, inputs: Iterable[DatasetInput]
    ) -> None:
        ds = schema.datasets
        for item in inputs:
            d = item.dataset
            found = conn.execute(
                select(ds.c.dataset_id).where(
                    ds.c.experiment_id == experiment_id,
                    ds.c.name == d.name,
                    ds.c.digest == d.digest,
                )
            ).scalar()
            if found is None:
                found = uuid.uuid4().hex
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
            upsert(
                conn,
                schema.run_inputs,
                [{"run_id": run_id, "dataset_id": found, "tags": orjson.dumps(item.tags).decode()}],
                keys=("run_id", "dataset_id"),
            )

    def run_ids_page(self, conn: Connection, query: Any) -> list[str]:
        return [row[0] for row in conn.execute(query)]

    @staticmethod
    def _info(row: Any) -> RunInfo:
        return RunInfo(
            run_id=row.run_id,
            run_name=row.name,
            experiment_id=str(row.experiment_id),
            user_id=row.user_id,
            status=RunStatus(row.status),
            start_time=row.start_time,
            end_time=row.end_time,
            artifact_uri=row.artifact_uri,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            parent_run_id=row.parent_run_id,
        )
