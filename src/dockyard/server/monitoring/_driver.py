"""What the monitoring loop does in a pass, given the time: claim the windows that have ended,
submit their jobs, and record the jobs that have ended.

Each step is durable on its own:

- **claim**: a window's execution row is inserted, and the schedule's cursor moved past it, in
  one transaction (the move is a compare-and-set on the cursor), so a window is claimed once
  across restarts;
- **submit**: a pending execution's job is named after the execution; a crash between the
  submit and the row's update finds the job by that name on the next pass instead of
  submitting it again;
- **record**: the execution's end, its violations and its events are written in one
  transaction, guarded on the execution still being in progress, so events are appended once.
  Model-quality metrics are logged to the schedule's run before that (a point logged twice with
  the same step and time is kept once).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import orjson

from dockyard.api.jobs import Job, JobStatus
from dockyard.api.monitoring import (
    SUMMARY_FILE,
    ExecutionStatus,
    MonitoringJobData,
    MonitoringJobOutput,
    MonitoringJobSpec,
    MonitoringScheduleSpec,
    ScheduleStatus,
)
from dockyard.api.tracking import LogBatch, MetricIn
from dockyard.artifacts import open_artifact_store
from dockyard.errors import AlreadyExists, DockyardError
from dockyard.server.actor import Actor
from dockyard.server.monitoring import _windows
from dockyard.server.monitoring._service import MonitoringService
from dockyard.server.tracking import now_ms

__all__ = ["MonitoringDriver"]

log = logging.getLogger("dockyard.server.monitoring")

#: Windows one schedule claims per pass: a server back after a long outage catches up over
#: several passes rather than flooding the queue in one.
MAX_CLAIMS = 24
#: Hours of ground-truth uploads an execution reads after its window (labels come later).
_TRUTH_HOURS = 7 * 24
_LOOP = Actor.system("monitoring")
_OPEN = (ExecutionStatus.PENDING.value, ExecutionStatus.IN_PROGRESS.value)
_FORMATS: dict[str, Literal["csv", "jsonl", "parquet"]] = {
    "text/csv": "csv",
    "application/jsonlines": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-parquet": "parquet",
    "application/vnd.apache.parquet": "parquet",
}


#: A window's check starts no sooner than this after its end: serving workers write captured
#: records every ``capture.flush_interval_s`` (1 s by default).
FLUSH_MS = 2_000


class MonitoringDriver:
    """The passes of the monitoring loop over :class:`MonitoringService`'s rows.

    Args:
        grace_s: How long after a window ends its capture is taken as complete (workers flush
            captured records every ``capture.flush_interval_s``, 1 s by default).
    """

    def __init__(self, service: MonitoringService, *, grace_s: float = _windows.GRACE_S) -> None:
        self._service = service
        self._grace_ms = int(grace_s * 1000)
        #: When the earliest window held back for the workers' last flush may start (ms).
        self.due: int | None = None
        #: Whether a job of this driver's may still be running (as of the last pass): only
        #: then can a job's end concern it.
        self.following = True

    def advance(self, now: int) -> bool:
        """One pass at time ``now`` (ms); True when it changed something."""
        changed = self.claim(now)
        changed = self.submit(now) or changed
        return self.follow(now) or changed

    # -- claim -------------------------------------------------------------------------------------

    def claim(self, now: int) -> bool:
        service = self._service
        with service.db.read() as conn:
            rows = service.repo.all(conn)
        claimed = False
        for row in rows:
            if row.status != ScheduleStatus.SCHEDULED.value:
                continue
            spec = MonitoringScheduleSpec.model_validate_json(row.spec)
            try:
                claimed = self._claim_schedule(row, spec, now) or claimed
            except DockyardError:
                log.exception("monitoring schedule %s: claiming windows failed", row.name)
        return claimed

    def _claim_schedule(self, row: Any, spec: MonitoringScheduleSpec, now: int) -> bool:
        service = self._service
        start = row.next_window_start
        claimed = 0
        while claimed < MAX_CLAIMS:
            end = _windows.window_end(spec, start)
            if _windows.check_time(spec, end, self._grace_ms) > now:
                break
            key = _windows.stamp(start)
            execution_id = f"{row.name}-{key}-{row.schedule_id[:6]}"
            with service.db.write() as conn:
                if not service.repo.move_cursor(conn, row.schedule_id, start, end):
                    break  # another pass moved it: it claims this window
                service.add_window(conn, row, execution_id, key, "scheduled", start, end, now)
            claimed += 1
            start = end
        return bool(claimed)

    # -- submit ------------------------------------------------------------------------------------

    def submit(self, now: int) -> bool:
        service = self._service
        with service.db.read() as conn:
            pending = service.repo.open_executions(conn, [ExecutionStatus.PENDING.value])
        self.due = None
        for execution in pending:
            ready = execution.window_end + FLUSH_MS
            if execution.kind != "baseline" and ready > now:
                # A window that ended a moment ago (a manual run up to now): the workers'
                # last records are still on their way to the store.
                self.due = ready if self.due is None else min(self.due, ready)
                continue
            with service.db.read() as conn:
                row = service.repo.by_id(conn, execution.schedule_id)
            if row is None:
                continue
            # From here a job of ours may run: its end must wake the loop even if it comes
            # before this pass's follow has read it as running.
            self.following = True
            try:
                job = service.jobs.find(execution.execution_id)
                if job is None:
                    try:
                        job = service.jobs.submit_monitoring(
                            service.owner(row), self._job_spec(row, execution, now)
                        )
                    except AlreadyExists:  # another pass submitted it meanwhile: it is the one
                        job = service.jobs.find(execution.execution_id)
                        if job is None:
                            raise
            except DockyardError as exc:
                self._end(row, execution, ExecutionStatus.FAILED, {}, reason=exc.message)
                continue
            with service.db.write() as conn:
                service.repo.change_execution(
                    conn,
                    execution.execution_id,
                    [ExecutionStatus.PENDING.value],
                    status=ExecutionStatus.IN_PROGRESS.value,
                    job=job.name,
                )
        return bool(pending)

    def _job_spec(self, row: Any, execution: Any, now: int) -> MonitoringJobSpec:
        service = self._service
        spec = MonitoringScheduleSpec.model_validate_json(row.spec)
        owner = service.owner(row)
        common: dict[str, Any] = {
            "name": execution.execution_id,
            "schedule": row.name,
            "execution_id": execution.execution_id,
            "experiment": spec.experiment or "monitoring",
            "executor": spec.executor,
            "output": MonitoringJobOutput(uri=execution.output_uri),
            "window_start": execution.window_start,
            "window_end": execution.window_end,
        }
        if execution.kind == "baseline":
            uri = service.checks.baseline_data(owner, spec.baseline, "baseline")
            source = spec.baseline.suggest_from
            assert source is not None
            data = MonitoringJobData(
                uris=(uri,),
                format=source.format or _format_of(uri),
                columns=spec.data.columns,
                header=source.header,
            )
            return MonitoringJobSpec(mode="baseline", data=data, **common)
        return MonitoringJobSpec(
            mode="check",
            data=self._data(owner, spec, execution),
            baseline_uri=row.baseline_uri,
            check_options=spec.check.options(),
            model_quality=spec.model_quality,
            ground_truth_uris=self._truth(row, execution, now) if spec.model_quality else (),
            **common,
        )

    def _data(self, owner: Any, spec: MonitoringScheduleSpec, execution: Any) -> MonitoringJobData:
        service = self._service
        target = spec.target
        if target.transform_job is not None:
            job = service.jobs.get(owner, target.transform_job)
            side = job.spec["input"] if target.side == "input" else job.spec["output"]
            content_type = str(
                job.spec["input"].get("content_type")
                if target.side == "input"
                else job.spec["output"].get("accept") or job.spec["input"].get("content_type")
            )
            return MonitoringJobData(
                uris=(str(side["uri"]),),
                format=spec.data.format or _FORMATS.get(content_type, "csv"),
                columns=spec.data.columns,
                header=spec.data.header,
            )
        assert target.endpoint is not None
        base = service.endpoints.capture_destination(owner, target.endpoint) or service.store_uri(
            "capture"
        )
        base = f"{base.rstrip('/')}/{target.endpoint}"
        if target.variant is not None:
            variants = [target.variant]
        else:
            store = open_artifact_store(base, s3_endpoint_url=service.settings.s3_endpoint_url)
            variants = [i.path.rstrip("/") for i in store.list("") if i.is_dir]
        hours = _windows.hours(execution.window_start, execution.window_end)
        uris = tuple(
            f"{base}/{variant}/{_windows.hour_path(hour)}" for variant in variants for hour in hours
        )
        return MonitoringJobData(
            uris=uris,
            format="capture",
            columns=spec.data.columns,
            capture_side=spec.data.capture_side,
        )

    def _truth(self, row: Any, execution: Any, now: int) -> tuple[str, ...]:
        """The ground-truth hours an execution reads: from its window's first hour to now."""
        service = self._service
        prefix = service.ground_truth_prefix(row)
        end = min(now, execution.window_start + _TRUTH_HOURS * _windows.HOUR_MS) + 1
        return tuple(
            service.store_uri(f"{prefix}/{_windows.hour_path(hour)}")
            for hour in _windows.hours(execution.window_start, end)
        )

    # -- follow ------------------------------------------------------------------------------------

    def follow(self, now: int) -> bool:
        service = self._service
        with service.db.read() as conn:
            running = service.repo.open_executions(conn, [ExecutionStatus.IN_PROGRESS.value])
        ended = False
        following = False
        for execution in running:
            job = service.jobs.find(execution.job) if execution.job else None
            if job is not None and not job.status.is_terminal:
                following = True
                continue
            with service.db.read() as conn:
                row = service.repo.by_id(conn, execution.schedule_id)
            if row is None:
                continue
            self._ended(row, execution, job)
            ended = True
        self.following = following
        return ended

    def _ended(self, row: Any, execution: Any, job: Job | None) -> None:
        if job is None:
            self._end(row, execution, ExecutionStatus.FAILED, {}, reason="its job was deleted")
            return
        if job.status is not JobStatus.COMPLETED:
            reason = job.failure_reason or f"its job {job.name} ended {job.status.value}"
            self._end(row, execution, ExecutionStatus.FAILED, {}, reason=reason)
            return
        try:
            store = open_artifact_store(
                execution.output_uri, s3_endpoint_url=self._service.settings.s3_endpoint_url
            )
            with store.open_read(SUMMARY_FILE) as handle:
                summary: dict[str, Any] = orjson.loads(handle.read())
        except (DockyardError, ValueError) as exc:
            reason = f"its job left no readable {SUMMARY_FILE}: {exc}"
            self._end(row, execution, ExecutionStatus.FAILED, {}, reason=reason)
            return
        if execution.kind != "baseline" and summary.get("metrics"):
            self._log_metrics(row, execution, summary["metrics"])
        status = (
            ExecutionStatus.COMPLETED_WITH_VIOLATIONS
            if summary.get("violation_count")
            else ExecutionStatus.COMPLETED
        )
        self._end(row, execution, status, summary)

    def _log_metrics(self, row: Any, execution: Any, metrics: dict[str, Any]) -> None:
        """Model-quality metrics as points of the schedule's run: step = the window's hour
        (so re-recording one is a duplicate, kept once), timestamp = the window's end."""
        if row.run_id is None:
            return
        step = execution.window_start // _windows.HOUR_MS
        points = [
            MetricIn(
                key=f"model_quality/{k}", value=float(v), timestamp=execution.window_end, step=step
            )
            for k, v in sorted(metrics.items())
            if isinstance(v, int | float)
        ]
        if points:
            try:
                self._service.tracking.log_batch(
                    self._service.owner(row), row.run_id, LogBatch(metrics=points[:1000])
                )
            except DockyardError:
                log.exception("monitoring schedule %s: logging metrics failed", row.name)

    def _end(
        self,
        row: Any,
        execution: Any,
        status: ExecutionStatus,
        summary: dict[str, Any],
        *,
        reason: str | None = None,
    ) -> None:
        """Record an execution's end and append its events, once."""
        service = self._service
        violations = list(summary.pop("violations", None) or [])
        count = int(summary.get("violation_count") or len(violations))
        with service.db.write() as conn:
            done = service.repo.change_execution(
                conn,
                execution.execution_id,
                _OPEN,
                status=status.value,
                summary=orjson.dumps(summary, default=str).decode(),
                violations=orjson.dumps(violations, default=str).decode(),
                violation_count=count,
                failure_reason=reason[:1000] if reason else None,
                end_time=now_ms(),
            )
            if not done:
                return
            if execution.kind == "baseline":
                self._baseline_ended(conn, row, execution, status, reason)
                return
            body = _event_body(row, execution, status, summary, count)
            if status is ExecutionStatus.FAILED:
                body["failure_reason"] = (reason or "")[:500]
                service.event(conn, _LOOP, "monitoring.execution.failed", row, body)
                return
            service.event(conn, _LOOP, "monitoring.execution.completed", row, body)
            if count:
                service.event(conn, _LOOP, "monitoring.violation", row, body)

    def _baseline_ended(
        self, conn: Any, row: Any, execution: Any, status: ExecutionStatus, reason: str | None
    ) -> None:
        service = self._service
        current = service.repo.by_id(conn, row.schedule_id)
        if current is None or current.baseline_job != execution.execution_id:
            return  # a newer baseline was asked for meanwhile
        spec = MonitoringScheduleSpec.model_validate_json(current.spec)
        if status is ExecutionStatus.FAILED:
            source = spec.baseline.suggest_from
            named = next(
                (n for n in ("dataset_uri", "training_job", "run_id") if getattr(source, n, None)),
                None,
            )
            field = f" from baseline.suggest_from.{named}" if named else ""
            service.repo.change(
                conn,
                row.schedule_id,
                status=ScheduleStatus.FAILED.value,
                failure_reason=f"the baseline could not be suggested{field}: {reason}"[:1000],
            )
            service.event(
                conn, _LOOP, "monitoring.baseline.failed", row, {"reason": (reason or "")[:500]}
            )
            return
        service.repo.change(
            conn,
            row.schedule_id,
            status=(ScheduleStatus.SCHEDULED if spec.enabled else ScheduleStatus.STOPPED).value,
            baseline_uri=execution.output_uri,
            failure_reason=None,
        )
        service.event(
            conn,
            _LOOP,
            "monitoring.baseline.completed",
            row,
            {"baseline_uri": execution.output_uri},
        )


def _format_of(uri: str) -> Any:
    lowered = uri.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def _event_body(
    row: Any, execution: Any, status: ExecutionStatus, summary: dict[str, Any], count: int
) -> dict[str, Any]:
    spec = MonitoringScheduleSpec.model_validate_json(row.spec)
    body: dict[str, Any] = {
        "schedule": row.name,
        "execution_id": execution.execution_id,
        "status": status.value,
        "window_start": execution.window_start,
        "window_end": execution.window_end,
        "rows": summary.get("rows"),
        "violation_count": count,
        "violations_by_type": summary.get("violations_by_type") or {},
        "drifted_features": [d.get("feature") for d in summary.get("drifted_features") or []][:20],
        "job": execution.job,
    }
    if spec.target.endpoint is not None:
        body["endpoint"] = spec.target.endpoint
    if spec.target.transform_job is not None:
        body["transform_job"] = spec.target.transform_job
    if summary.get("metrics"):
        body["metrics"] = summary["metrics"]
    if summary.get("report"):
        body["report_uri"] = f"{execution.output_uri.rstrip('/')}/{summary['report']}"
    return body
