"""The monitoring schedules' rules: create (checked once), read, update, delete, run a window
now, upload ground truth, serve reports; what the loop does is in
:mod:`dockyard.server.monitoring._driver`.

Permissions follow tuning jobs': creating needs the member role, ``read`` on the endpoint or
transform job it watches and ``edit`` on its experiment (its run and its jobs' runs go there);
reading needs ``read`` on that experiment; running a window or uploading ground truth, being its
creator or ``edit`` there; changing or deleting it, being its creator or ``manage`` there.
Its jobs are submitted as its creator, as they are now (:meth:`owner`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection

from dockyard.api.monitoring import (
    ExecutionStatus,
    GroundTruthUploaded,
    MonitoringExecution,
    MonitoringSchedule,
    MonitoringScheduleSpec,
    RunMonitoringSchedule,
    ScheduleStatus,
    UpdateMonitoringSchedule,
)
from dockyard.api.tracking import CreateRun, TagIn
from dockyard.artifacts import ArtifactStore, artifact_uri, open_artifact_store
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import Access, AuthService
from dockyard.server.events import EventLog
from dockyard.server.monitoring import _views, _windows
from dockyard.server.monitoring._checks import SpecChecks
from dockyard.server.monitoring._ground_truth import parse_ground_truth
from dockyard.server.monitoring._repository import MonitoringRepository
from dockyard.server.store import Database
from dockyard.server.tracking import (
    Page,
    TrackingService,
    decode_page_token,
    encode_page_token,
    now_ms,
)
from dockyard.settings import Settings

__all__ = ["KIND", "MonitoringService"]

KIND = "monitoring_schedule"
DEFAULT_EXPERIMENT = "monitoring"
#: How far past now a window asked for may end (clocks differ a little); it waits for its end.
RUN_AHEAD_MS = 60_000


def _check_page(max_results: int) -> None:
    if not 1 <= max_results <= LIMITS.page_max_results:
        raise InvalidArgument(
            f"max_results must be between 1 and {LIMITS.page_max_results}", field="max_results"
        )


class MonitoringService:
    """Monitoring schedules, their executions and ground truth.

    Args:
        jobs: The job service monitoring jobs are submitted to and read from.
        endpoints: The endpoint service (an endpoint target's capture destination).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        tracking: TrackingService,
        events: EventLog,
        access: Access,
        auth: AuthService,
        artifacts: ArtifactStore,
        jobs: Any,
        endpoints: Any,
    ) -> None:
        self.db = db
        self.settings = settings
        self.tracking = tracking
        self.events = events
        self.access = access
        self._auth = auth
        self.artifacts = artifacts
        self.jobs = jobs
        self.endpoints = endpoints
        self.repo = MonitoringRepository()
        self.checks = SpecChecks(settings, tracking, jobs, endpoints)
        #: Set by the loop: wakes it (a manual run starts at once).
        self.wake: Callable[[], None] = lambda: None

    def event(
        self, conn: Any, actor: Actor, type: str, row: Any, body: dict[str, Any] | None = None
    ) -> None:
        scope = f"experiment:{row.experiment_id}" if row.experiment_id else f"{KIND}:{row.name}"
        self.events.append(conn, actor, type, KIND, row.name, scope=scope, body=body)

    def owner(self, row: Any) -> Actor:
        """Who a schedule's jobs run as: its creator, as they are now."""
        if row.owner_id is None:  # a server without accounts: its creator's name
            return Actor.system(row.created_by).at("monitoring")
        return self._auth.account_actor(int(row.owner_id)).at("monitoring")

    def store_uri(self, key: str) -> str:
        return artifact_uri(self.artifacts, key)

    def reports_uri(self, row: Any, execution_id: str) -> str:
        """Where an execution of the schedule ``row`` writes its reports: under its spec's
        ``reports_uri``, or the artifact store's ``monitoring/`` folder."""
        spec = MonitoringScheduleSpec.model_validate_json(row.spec)
        if spec.reports_uri is None:
            return self.store_uri(f"monitoring/{row.name}/{execution_id}")
        return f"{spec.reports_uri.rstrip('/')}/{row.name}/{execution_id}"

    # -- create -----------------------------------------------------------------------------------

    def create(
        self, actor: Actor, spec: MonitoringScheduleSpec, *, now: int | None = None
    ) -> MonitoringSchedule:
        """Check a schedule against the world and save it; a baseline to suggest becomes the
        schedule's first execution (its job is submitted by the loop)."""
        self.access.require_role(actor, Role.MEMBER, "create monitoring schedules")
        now = now if now is not None else now_ms()
        self.checks.spec(actor, spec)
        with self.db.read() as conn:
            if self.repo.find(conn, spec.name) is not None:
                raise AlreadyExists(
                    f"a monitoring schedule named {spec.name!r} exists", field="name"
                )
        experiment_id = self.tracking.work_experiment(actor, spec.experiment, DEFAULT_EXPERIMENT)
        run = self.tracking.create_submitted_run(
            actor,
            CreateRun(
                experiment_id=experiment_id,
                run_name=spec.name,
                tags=[
                    TagIn(key="dockyard.monitoring.schedule", value=spec.name),
                    *(TagIn(key=k, value=v) for k, v in spec.tags.items()),
                ],
            ),
        )
        suggest = spec.baseline.suggest_from is not None
        row = {
            "schedule_id": secrets.token_hex(8),
            "name": spec.name,
            "spec": spec.model_dump_json(),
            "status": (ScheduleStatus.PENDING if suggest else self._running(spec.enabled)).value,
            "baseline_uri": spec.baseline.uri,
            "experiment_id": experiment_id,
            "run_id": run.info.run_id,
            "next_window_start": _windows.first_start(spec, now),
            "owner_id": actor.user_id if actor.job is None else None,
            "created_by": actor.label[:256],
            "created_time": now,
            "updated_time": now,
        }
        with self.db.write() as conn:
            self.repo.insert(conn, **row)
            saved = self.repo.require(conn, spec.name)
            if suggest:
                self._add_baseline(conn, saved, now)
            self.event(
                conn,
                actor,
                "monitoring.schedule.created",
                saved,
                {"schedule": spec.schedule, "target": spec.target.model_dump(exclude_none=True)},
            )
            return _views.schedule(self.repo.require(conn, spec.name), None)

    @staticmethod
    def _running(enabled: bool) -> ScheduleStatus:
        return ScheduleStatus.SCHEDULED if enabled else ScheduleStatus.STOPPED

    def _add_baseline(self, conn: Any, row: Any, now: int) -> None:
        key = f"baseline-{now}"
        execution_id = f"{row.name}-{key}-{row.schedule_id[:6]}"
        self.repo.add_execution(
            conn,
            execution_id=execution_id,
            schedule_id=row.schedule_id,
            window_key=key,
            kind="baseline",
            trigger="baseline",
            window_start=now,
            window_end=now,
            status=ExecutionStatus.PENDING.value,
            output_uri=self.reports_uri(row, execution_id),
            created_time=now,
        )
        self.repo.change(conn, row.schedule_id, baseline_job=execution_id)

    # -- read -------------------------------------------------------------------------------------

    def _require_read(self, conn: Any, actor: Actor, row: Any) -> None:
        self.access.require(
            conn, actor, Level.READ, "experiment", str(row.experiment_id), f"read {row.name}"
        )

    def _require_control(
        self, conn: Any, actor: Actor, row: Any, what: str, level: Level = Level.MANAGE
    ) -> None:
        """Its creator, or ``level`` on its experiment: ``manage`` to change or delete it,
        ``edit`` to run a window or add ground truth."""
        if actor.job is not None:
            raise PermissionDenied(f"{actor.label} may not {what} {row.name}")
        if self.access.is_acting_owner(actor, row.owner_id):
            return
        self.access.require(
            conn, actor, level, "experiment", str(row.experiment_id), f"{what} {row.name}"
        )

    def watching(self, conn: Connection, endpoint: str) -> list[str]:
        """The names of the schedules whose target is ``endpoint``, in ``conn``."""
        return [
            row.name
            for row in self.repo.all(conn)
            if MonitoringScheduleSpec.model_validate_json(row.spec).target.endpoint == endpoint
        ]

    def get(self, actor: Actor, name: str) -> MonitoringSchedule:
        with self.db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            return _views.schedule(row, self.repo.latest(conn, row.schedule_id))

    def page(
        self,
        actor: Actor,
        *,
        max_results: int = LIMITS.page_default_results,
        page_token: str | None = None,
    ) -> Page[MonitoringSchedule]:
        """Schedules the actor may read, newest first."""
        _check_page(max_results)
        offset = decode_page_token(page_token)
        with self.db.read() as conn:
            rows = self.repo.list(
                conn,
                limit=max_results + 1,
                offset=offset,
                experiments=self.access.readable(conn, actor, "experiment"),
            )
            items = [_views.schedule(r, self.repo.latest(conn, r.schedule_id)) for r in rows]
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    def executions(
        self,
        actor: Actor,
        name: str,
        *,
        max_results: int = LIMITS.page_default_results,
        page_token: str | None = None,
        with_violations: bool = False,
    ) -> Page[MonitoringExecution]:
        """A schedule's executions, latest window first (``with_violations``: only those that
        found some, each with its violations)."""
        _check_page(max_results)
        offset = decode_page_token(page_token)
        with self.db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            rows = self.repo.executions(
                conn,
                row.schedule_id,
                limit=max_results + 1,
                offset=offset,
                with_violations=with_violations,
            )
        items = [_views.execution(r, name, violations=with_violations) for r in rows]
        more = len(items) > max_results
        return Page(items[:max_results], encode_page_token(offset + max_results) if more else None)

    def execution(self, actor: Actor, name: str, execution_id: str) -> MonitoringExecution:
        """One execution with its violations."""
        with self.db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_read(conn, actor, row)
            found = self.repo.execution(conn, execution_id)
            if found is None or found.schedule_id != row.schedule_id:
                raise NotFound(
                    f"schedule {name!r} has no execution {execution_id!r}", field="execution_id"
                )
        return _views.execution(found, name, violations=True)

    def report(self, actor: Actor, name: str, execution_id: str) -> bytes:
        """An execution's HTML report."""
        found = self.execution(actor, name, execution_id)
        if found.report_uri is None or found.output_uri is None:
            raise NotFound(
                f"execution {execution_id!r} has no report (status {found.status.value})",
                field="execution_id",
            )
        store = open_artifact_store(found.output_uri, s3_endpoint_url=self.settings.s3_endpoint_url)
        with store.open_read(found.report_uri.rsplit("/", 1)[-1]) as handle:
            return handle.read()

    # -- change -----------------------------------------------------------------------------------

    def update(
        self, actor: Actor, name: str, change: UpdateMonitoringSchedule, *, now: int | None = None
    ) -> MonitoringSchedule:
        """Change a schedule: its cadence, baseline, options, or whether it runs. Re-enabling
        it starts its windows from now (the hours it was off stay unchecked); a new baseline
        to suggest runs a baseline job first."""
        now = now if now is not None else now_ms()
        with self.db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_control(conn, actor, row, "change")
        spec = MonitoringScheduleSpec.model_validate_json(row.spec)
        fields = change.model_dump(exclude_unset=True, exclude_none=True)
        # An executor given as null goes back to the server's default.
        reset = {"executor": None} if "executor" in change.model_fields_set else {}
        updated = spec.model_copy(update=reset | {k: getattr(change, k) for k in fields})
        if not updated.is_hourly:
            from dockyard.server.triggers import Cron

            Cron.parse(updated.schedule, updated.timezone, field="schedule")
        if change.check is not None:
            self.checks.options(change.check.options())
        if change.baseline is not None:
            self.checks.baseline(actor, change.baseline, "baseline")
        if change.executor is not None:
            self.checks.executor(change.executor)
        if change.reports_uri is not None:  # later executions write there
            self.checks.reports(actor, change.reports_uri)
        values: dict[str, Any] = {"spec": updated.model_dump_json(), "updated_time": now}
        if change.schedule is not None and updated.is_hourly != spec.is_hourly:
            values["next_window_start"] = _windows.first_start(updated, now)
        status = ScheduleStatus(row.status)
        if change.enabled is not None and change.enabled != spec.enabled:
            if change.enabled:
                values["next_window_start"] = _windows.first_start(updated, now)
            if status in (ScheduleStatus.SCHEDULED, ScheduleStatus.STOPPED):
                values["status"] = self._running(change.enabled).value
        if change.baseline is not None and change.baseline.uri is not None:
            values.update(baseline_uri=change.baseline.uri, failure_reason=None)
            values["status"] = self._running(updated.enabled).value
        with self.db.write() as conn:
            row = self.repo.require(conn, name)
            self.repo.change(conn, row.schedule_id, **values)
            if change.baseline is not None and change.baseline.suggest_from is not None:
                self.repo.change(conn, row.schedule_id, status=ScheduleStatus.PENDING.value)
                self._add_baseline(conn, row, now)
            row = self.repo.require(conn, name)
            changed = sorted(set(fields) | set(reset))
            self.event(conn, actor, "monitoring.schedule.updated", row, {"fields": changed})
            return _views.schedule(row, self.repo.latest(conn, row.schedule_id))

    def delete(self, actor: Actor, name: str) -> None:
        """Delete a schedule and its executions' records (their outputs stay in the store)."""
        with self.db.write() as conn:
            row = self.repo.require(conn, name)
            self._require_control(conn, actor, row, "delete")
            self.repo.delete(conn, row.schedule_id)
            self.event(conn, actor, "monitoring.schedule.deleted", row)

    def run(
        self,
        actor: Actor,
        name: str,
        window: RunMonitoringSchedule,
        *,
        now: int | None = None,
    ) -> MonitoringExecution:
        """Check a window now (default: the last completed hour), whatever the schedule's
        cadence; its job is submitted by the loop at once."""
        now = now if now is not None else now_ms()
        with self.db.write() as conn:
            row = self.repo.require(conn, name)
            self._require_control(conn, actor, row, "run", Level.EDIT)
            if row.baseline_uri is None:
                raise Conflict(
                    f"schedule {name!r} has no baseline yet ({row.status}): run it once its "
                    "baseline job has completed",
                    field="name",
                )
            start = (
                window.start
                if window.start is not None
                else _windows.floor_hour(now) - _windows.HOUR_MS
            )
            end = window.end if window.end is not None else start + _windows.HOUR_MS
            if end > now + RUN_AHEAD_MS:
                # Its capture is not there yet: the execution would sit Pending until then.
                raise InvalidArgument(
                    f"the window ends in the future ({_windows.iso(end)}, now "
                    f"{_windows.iso(now)}): run a window once it has ended",
                    field="end",
                )
            if end - start > 31 * 24 * _windows.HOUR_MS:
                raise InvalidArgument("a window spans at most 31 days", field="end")
            key = f"manual-{now}-{secrets.token_hex(2)}"
            execution_id = f"{name}-{key}-{row.schedule_id[:6]}"
            self.add_window(conn, row, execution_id, key, "manual", start, end, now)
            self.event(
                conn,
                actor,
                "monitoring.execution.requested",
                row,
                {"execution_id": execution_id, "window_start": start, "window_end": end},
            )
            found = self.repo.execution(conn, execution_id)
        self.wake()
        return _views.execution(found, name)

    def add_window(
        self,
        conn: Any,
        row: Any,
        execution_id: str,
        key: str,
        trigger: str,
        start: int,
        end: int,
        now: int,
    ) -> bool:
        return self.repo.add_execution(
            conn,
            execution_id=execution_id,
            schedule_id=row.schedule_id,
            window_key=key,
            kind="data_quality",
            trigger=trigger,
            window_start=start,
            window_end=end,
            status=ExecutionStatus.PENDING.value,
            output_uri=self.reports_uri(row, execution_id),
            created_time=now,
        )

    # -- ground truth -----------------------------------------------------------------------------

    def ground_truth_prefix(self, row: Any) -> str:
        """Where a schedule's labels are kept: under its id as well as its name, so a schedule
        made later with a deleted one's name (by anyone) starts with none of its labels."""
        return f"monitoring/{row.name}/{row.schedule_id}/ground-truth"

    def upload_ground_truth(
        self, actor: Actor, name: str, body: bytes, *, now: int | None = None
    ) -> GroundTruthUploaded:
        """Store labels by inference id under the hour they arrived
        (``monitoring/<name>/<schedule id>/ground-truth/YYYY/MM/DD/HH/``); executions of
        windows before it join them with what was captured."""
        now = now if now is not None else now_ms()
        with self.db.read() as conn:
            row = self.repo.require(conn, name)
            self._require_control(conn, actor, row, "upload ground truth for", Level.EDIT)
        records = parse_ground_truth(body)
        lines = b"".join(orjson.dumps(r.model_dump(mode="json")) + b"\n" for r in records)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now / 1000))
        key = (
            f"{self.ground_truth_prefix(row)}/{_windows.hour_path(now)}/"
            f"{stamp}-{secrets.token_hex(4)}.jsonl"
        )
        self.artifacts.put_bytes(key, lines)
        self.events.record(
            actor,
            "monitoring.ground_truth.uploaded",
            KIND,
            name,
            scope=f"experiment:{row.experiment_id}",
            body={"records": len(records), "key": key},
        )
        return GroundTruthUploaded(records=len(records), uri=self.store_uri(key))
