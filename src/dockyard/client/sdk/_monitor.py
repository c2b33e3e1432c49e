"""Model monitoring from Python: a baseline, a schedule over an endpoint's captured traffic,
its executions, violations and reports, ground truth.

    monitor = dy.Monitor(endpoint="churn")
    monitor.suggest_baseline("data/train.csv")          # a local file is uploaded first
    monitor.create_schedule("churn-drift", schedule="hourly", check={"drift_metric": "psi"},
                            model_quality={"problem_type": "binary"})
    monitor.executions()                                # latest window first
    monitor.violations()
    monitor.upload_ground_truth({"4f1c09d2-1a": 1, ...})
    html = monitor.latest_report()

A schedule's baseline is a folder holding ``statistics.json`` and ``constraints.json``
(``baseline_uri=``, a local folder is uploaded), or data the server suggests one from in a
baseline job before the first check (:meth:`Monitor.suggest_baseline`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import orjson

from dockyard.api.monitoring import (
    GroundTruthUploaded,
    MonitoringExecution,
    MonitoringSchedule,
    MonitoringScheduleSpec,
    RunMonitoringSchedule,
    ScheduleStatus,
    UpdateMonitoringSchedule,
)
from dockyard.client.http import Client, from_answer, routes
from dockyard.errors import InvalidArgument, NotFound, Unavailable
from dockyard.paths import expand_user

__all__ = ["Monitor", "check_local_baseline"]

_UPLOADS = "monitoring"


def check_local_baseline(folder: str | Path, field: str) -> None:
    """Parse a local baseline folder before it is uploaded, so a refusal names the user's
    folder and files rather than their copies in the store (the server checks them the same
    way), and a folder that is no baseline is not uploaded at all."""
    from dockyard.monitor import read_baseline
    from dockyard.monitor.baseline import CONSTRAINTS_FILE, STATISTICS_FILE

    local = expand_user(str(folder), field)
    if not local.exists():
        return  # the upload names it
    missing = [n for n in (STATISTICS_FILE, CONSTRAINTS_FILE) if not (local / n).is_file()]
    if missing:
        raise InvalidArgument(
            f"{local} lacks {' and '.join(missing)} (a baseline folder holds "
            f"{STATISTICS_FILE} and {CONSTRAINTS_FILE})",
            field=field,
        )
    try:
        read_baseline(local)
    except InvalidArgument as exc:  # the message names the file; the field is the caller's
        raise InvalidArgument(exc.message, field=field) from None


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from dockyard.client.sdk._context import context

    return context().client


_T = TypeVar("_T")


def _until(fetch: Callable[[], _T], done: Callable[[_T], bool], timeout: float, what: str) -> _T:
    """``fetch()`` until ``done`` says so, asking less often as time goes on."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        found = fetch()
        if done(found):
            return found
        if time.monotonic() + delay > deadline:
            raise Unavailable(f"{what} after {timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


class Monitor:
    """Monitoring of one endpoint (optionally one variant) or one transform job's files.

    Args:
        endpoint: The endpoint whose captured traffic is checked.
        variant: Only this variant's traffic.
        transform_job: Check a transform job's input (``side="input"``) or output files.
        schedule: The schedule's name, once created or to reach an existing one.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        variant: str | None = None,
        transform_job: str | None = None,
        side: str = "input",
        schedule: str | None = None,
        client: Client | None = None,
    ) -> None:
        self._client_arg = client
        target: dict[str, Any] = {}
        if endpoint is not None:
            target = {"endpoint": endpoint, "variant": variant}
        elif transform_job is not None:
            target = {"transform_job": transform_job, "side": side}
        self.target = {k: v for k, v in target.items() if v is not None}
        self.schedule = schedule
        self._baseline: dict[str, Any] | None = None

    @property
    def _http(self) -> Client:
        return _client(self._client_arg)

    def _name(self) -> str:
        if self.schedule is None:
            raise InvalidArgument(
                "this monitor has no schedule yet: create_schedule(...) or Monitor(schedule=)",
                field="schedule",
            )
        return self.schedule

    # -- baseline and schedule --------------------------------------------------------------------

    def suggest_baseline(
        self,
        dataset: str | Path | None = None,
        *,
        training_job: str | None = None,
        channel: str = "train",
        run_id: str | None = None,
        dataset_name: str | None = None,
        format: str | None = None,
        header: bool | None = None,
    ) -> Monitor:
        """Have the server suggest the baseline (a baseline job, before the first check) from a
        dataset (a local file or folder is uploaded), a training job's input channel, or a
        run's logged input. Returns this monitor, for :meth:`create_schedule`; on an existing
        schedule, the new baseline is suggested at once."""
        source: dict[str, Any] = {"format": format, "header": header}
        if dataset is not None:
            from dockyard.client.sdk._upload import to_store

            source["dataset_uri"] = str(
                to_store(self._http, dataset, f"{_UPLOADS}/baselines", "dataset")
            )
        elif training_job is not None:
            source.update(training_job=training_job, channel=channel)
        elif run_id is not None:
            source.update(run_id=run_id, dataset=dataset_name)
        self._baseline = {"suggest_from": {k: v for k, v in source.items() if v is not None}}
        if self.schedule is not None:
            self.update(baseline=self._baseline)
        return self

    def create_schedule(
        self,
        name: str,
        *,
        baseline_uri: str | Path | None = None,
        schedule: str = "hourly",
        **options: Any,
    ) -> MonitoringSchedule:
        """Create the schedule (``schedule``: ``hourly`` or a cron expression). ``options``
        are the spec's other sections: ``check``, ``data``, ``model_quality``, ``timezone``,
        ``experiment``, ``executor``, ``tags``, ``enabled``."""
        baseline = self._baseline
        if baseline_uri is not None:
            from dockyard.client.sdk._upload import is_local, to_store

            if is_local(baseline_uri):
                check_local_baseline(baseline_uri, "baseline_uri")
            uri = to_store(self._http, baseline_uri, f"{_UPLOADS}/baselines", "baseline_uri")
            baseline = {"uri": str(uri)}
        if baseline is None:
            raise InvalidArgument(
                "a schedule needs a baseline: baseline_uri= or suggest_baseline(...) first",
                field="baseline",
            )
        spec = MonitoringScheduleSpec.model_validate(
            {"name": name, "target": self.target, "baseline": baseline, "schedule": schedule}
            | options
        )
        created = from_answer(
            MonitoringSchedule, self._http.call(routes.CREATE_MONITORING_SCHEDULE(), spec)
        )
        self.schedule = name
        return created

    def describe(self) -> MonitoringSchedule:
        return from_answer(
            MonitoringSchedule, self._http.call(routes.GET_MONITORING_SCHEDULE(name=self._name()))
        )

    def update(self, **change: Any) -> MonitoringSchedule:
        """Change the schedule: ``schedule``, ``baseline``, ``check``, ``enabled``..."""
        body = UpdateMonitoringSchedule.model_validate(change)
        return from_answer(
            MonitoringSchedule,
            self._http.call(routes.UPDATE_MONITORING_SCHEDULE(name=self._name()), body),
        )

    def delete(self) -> None:
        self._http.call(routes.DELETE_MONITORING_SCHEDULE(name=self._name()))

    def run(self, start: int | None = None, end: int | None = None) -> MonitoringExecution:
        """Check a window now (ms since the epoch; default the last completed hour)."""
        body = RunMonitoringSchedule(start=start, end=end)
        return from_answer(
            MonitoringExecution,
            self._http.call(routes.RUN_MONITORING_SCHEDULE(name=self._name()), body),
        )

    def wait_for_baseline(self, timeout: float = 600.0) -> MonitoringSchedule:
        """Wait while the schedule's baseline is being suggested; its state afterwards
        (``Scheduled``, or ``Failed`` with ``failure_reason``)."""
        return _until(
            self.describe,
            lambda s: s.status is not ScheduleStatus.PENDING,
            timeout,
            f"schedule {self._name()!r} still has no baseline",
        )

    def wait(self, execution_id: str, timeout: float = 600.0) -> MonitoringExecution:
        """Wait for an execution (from :meth:`run`) to end; it, with its violations."""
        return _until(
            lambda: self.execution(execution_id),
            lambda e: e.status.is_terminal,
            timeout,
            f"monitoring execution {execution_id!r} has not ended",
        )

    # -- results ----------------------------------------------------------------------------------

    def executions(self, *, limit: int | None = None) -> list[MonitoringExecution]:
        """Executions, latest window first (all of them, or the first ``limit``)."""
        found = []
        route = routes.LIST_MONITORING_EXECUTIONS(name=self._name())
        for item in self._http.paginate(route, "executions"):
            found.append(from_answer(MonitoringExecution, item))
            if limit is not None and len(found) >= limit:
                break
        return found

    def execution(self, execution_id: str) -> MonitoringExecution:
        """One execution with its violations."""
        route = routes.GET_MONITORING_EXECUTION(name=self._name(), execution_id=execution_id)
        return from_answer(MonitoringExecution, self._http.call(route))

    def violations(self) -> list[dict[str, Any]]:
        """Every violation found, latest window first; each names its execution."""
        route = routes.LIST_MONITORING_VIOLATIONS(name=self._name())
        return list(self._http.paginate(route, "violations"))

    def latest_report(self, path: str | Path | None = None) -> str:
        """The HTML report of the latest execution that has one (also written to ``path``)."""
        for execution in self.executions(limit=50):
            if execution.report_url is not None:
                html = self._http.send("GET", execution.report_url).text
                if path is not None:
                    Path(path).write_text(html)
                return html
        raise NotFound(f"schedule {self._name()!r} has no report yet", field="schedule")

    # -- ground truth -----------------------------------------------------------------------------

    def upload_ground_truth(
        self, labels: Mapping[str, Any] | Iterable[Mapping[str, Any]]
    ) -> GroundTruthUploaded:
        """Labels by inference id (the ``request_id`` of captured records: the ``X-Request-Id``
        of answers, which a client may also send): ``{id: label}`` or ``[{"inference_id",
        "label"}]``."""
        if isinstance(labels, Mapping):
            records = [{"inference_id": k, "label": v} for k, v in labels.items()]
        else:
            records = [dict(r) for r in labels]
        body = b"".join(orjson.dumps(r) + b"\n" for r in records)
        route = routes.UPLOAD_GROUND_TRUTH(name=self._name())
        answer = self._http.request(
            route.method,
            route.path,
            content=body,
            headers={"Content-Type": "application/jsonlines"},
        )
        return from_answer(GroundTruthUploaded, answer)
