"""The loop's passes with a clock the tests move: each ended hour is claimed once (across a
restart too), its job submitted once, and its end recorded once with its events; other jobs'
ends wake the loop only while a monitoring job runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from tests.server.monitoring.conftest import (
    HOUR,
    ROOT,
    T0,
    baseline_folder,
    capture,
    deploy,
    driver,
    events,
    exchange,
    finish,
    make_services,
    spec,
)

from dockyard.api.jobs import JobStatus
from dockyard.api.monitoring import ExecutionStatus, UpdateMonitoringSchedule
from dockyard.server._services import Services
from dockyard.server.monitoring import MonitoringLoop
from dockyard.server.store import schema

GRACE = 60_000


def _executions(services: Services) -> list[str]:
    page = services.monitoring.executions(ROOT, "churn-drift", max_results=100)
    return [e.execution_id for e in page.items]


def _monitoring_jobs(services: Services) -> list[str]:
    return sorted(j.name for j in services.jobs.list(ROOT, kind="monitoring"))


def test_an_hour_is_claimed_once_it_has_ended_and_its_capture_settled(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    capture(services, T0, [exchange("r1", [0.1, 0.2, 0.3], 0.7)])
    made = services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    hour = T0 - T0 % HOUR
    assert (made.next_window_start, made.next_window_end) == (hour, hour + HOUR)
    assert made.next_check_time == hour + HOUR + GRACE  # when the pass below claims it
    assert not passes.advance(hour + HOUR - 1)  # the hour is not over
    assert not passes.advance(hour + HOUR + GRACE - 1)  # late records may still come
    assert passes.advance(hour + HOUR + GRACE)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert (execution.window_start, execution.window_end) == (hour, hour + HOUR)
    assert execution.status is ExecutionStatus.IN_PROGRESS
    assert execution.trigger == "scheduled"
    job = services.jobs.get(ROOT, execution.job or "")
    assert job.kind == "monitoring" and job.status is JobStatus.PENDING
    assert job.spec["mode"] == "check"
    (uri,) = job.spec["data"]["uris"]
    assert uri.endswith("/capture/churn/main/" + _hour_path(hour))
    assert job.spec["baseline_uri"] == str(tmp_path / "baseline")
    # The next pass finds nothing new to claim or submit.
    assert _monitoring_jobs(services) == [execution.execution_id]
    passes.advance(hour + HOUR + GRACE + 1000)
    assert _monitoring_jobs(services) == [execution.execution_id]
    after = services.monitoring.get(ROOT, "churn-drift")
    assert (after.next_window_start, after.next_window_end) == (hour + HOUR, hour + 2 * HOUR)


def _hour_path(ms: int) -> str:
    import time

    return time.strftime("%Y/%m/%d/%H", time.gmtime(ms / 1000))


def test_a_restart_neither_repeats_nor_loses_an_hour(tmp_path: Path, model: Path) -> None:
    home = tmp_path / "home"
    first = make_services(home, tmp_path, model.parent)
    deploy(first, model)
    capture(first, T0, [exchange("r1", [0.1, 0.2, 0.3], 0.7)])
    first.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    hour = T0 - T0 % HOUR
    driver(first).advance(hour + HOUR + GRACE)
    before = _executions(first)
    first.close()  # the server stops (or dies) here

    second = make_services(home, tmp_path, model.parent)
    try:
        passes = driver(second)
        passes.advance(hour + HOUR + GRACE + 5_000)
        assert _executions(second) == before  # not checked again
        # Down for two more hours: both are checked, each once, oldest claimed first.
        passes.advance(hour + 3 * HOUR + GRACE)
        passes.advance(hour + 3 * HOUR + GRACE)
        windows = sorted(
            e.window_start for e in second.monitoring.executions(ROOT, "churn-drift").items
        )
        assert windows == [hour, hour + HOUR, hour + 2 * HOUR]
        assert len(_monitoring_jobs(second)) == 3
    finally:
        second.close()


def test_a_crash_between_claim_and_submit_submits_the_job_once(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + GRACE
    passes.claim(now)  # claimed; the server dies before submitting
    (pending,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert pending.status is ExecutionStatus.PENDING and pending.job is None
    passes.submit(now)
    # Submitted, but the server died before recording it: the next pass adopts the job.
    x = schema.monitoring_executions
    with services.db.write() as conn:
        conn.execute(update(x).values(status="Pending", job=None))
    passes.advance(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert execution.status is ExecutionStatus.IN_PROGRESS
    assert execution.job == execution.execution_id
    assert _monitoring_jobs(services) == [execution.execution_id]


def test_a_job_another_pass_submitted_meanwhile_is_adopted_not_a_failure(
    services: Services, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + GRACE
    passes.claim(now)
    passes.submit(now)  # another pass: it submits the job and records it
    x = schema.monitoring_executions
    with services.db.write() as conn:  # this pass read the execution before that was recorded
        conn.execute(update(x).values(status="Pending", job=None))
    find = services.jobs.find
    looked: list[str] = []

    def not_yet(name: str) -> Any:  # and looked for the job just before it was submitted
        looked.append(name)
        return None if len(looked) == 1 else find(name)

    monkeypatch.setattr(services.jobs, "find", not_yet)
    passes.submit(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert execution.status is ExecutionStatus.IN_PROGRESS, execution.failure_reason
    assert execution.job == execution.execution_id
    assert _monitoring_jobs(services) == [execution.execution_id]


def test_an_ended_check_is_recorded_once_with_its_events(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + GRACE
    passes.advance(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    violations = [
        {
            "feature_name": "a",
            "constraint_check_type": "baseline_drift_check",
            "description": "Baseline drift distance: 0.42 exceeds threshold: 0.1",
        },
        {
            "feature_name": "c",
            "constraint_check_type": "data_type_check",
            "description": "Data type match requirement is not met",
        },
    ]
    finish(
        services,
        execution.job or "",
        {
            "mode": "check",
            "rows": 120,
            "violation_count": 2,
            "violations_by_type": {"baseline_drift_check": 1, "data_type_check": 1},
            "drifted_features": [{"feature": "a", "psi": 0.9, "drifted": True}],
            "violations": violations,
            "report": "report.html",
            "metrics": {"accuracy": 0.61, "f1": 0.5},
            "labelled_rows": 40,
        },
    )
    passes.advance(now + 1000)
    passes.advance(now + 2000)  # an ended execution is recorded once
    done = services.monitoring.execution(ROOT, "churn-drift", execution.execution_id)
    assert done.status is ExecutionStatus.COMPLETED_WITH_VIOLATIONS
    assert (done.rows, done.violation_count, done.labelled_rows) == (120, 2, 40)
    assert done.violations_by_type == {"baseline_drift_check": 1, "data_type_check": 1}
    assert done.violations == violations
    assert done.report_url == (
        f"/api/v1/monitoring-schedules/churn-drift/executions/{done.execution_id}/report"
    )
    assert services.monitoring.report(ROOT, "churn-drift", done.execution_id).startswith(b"<html>")
    completed = events(services, "monitoring.execution.completed")
    violated = events(services, "monitoring.violation")
    assert len(completed) == len(violated) == 1
    body = violated[0].body
    assert body["endpoint"] == "churn" and body["violation_count"] == 2
    assert body["drifted_features"] == ["a"]
    assert body["execution_id"] == done.execution_id
    # Model-quality metrics are a series of the schedule's run, one point per window.
    run_id = services.monitoring.get(ROOT, "churn-drift").run_id or ""
    history = services.tracking.metric_history(
        ROOT, run_id, "model_quality/accuracy", max_results=10, page_token=None
    )
    assert [(p.value, p.timestamp) for p in history.items] == [(0.61, done.window_end)]
    assert services.monitoring.get(ROOT, "churn-drift").last_execution == done.model_copy(
        update={"violations": None}
    )


def test_a_failed_job_fails_its_execution_without_a_violation(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + GRACE
    passes.advance(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    finish(services, execution.job or "", None)
    passes.advance(now + 1000)
    failed = services.monitoring.execution(ROOT, "churn-drift", execution.execution_id)
    assert failed.status is ExecutionStatus.FAILED
    assert failed.failure_reason == "the check broke"
    (event,) = events(services, "monitoring.execution.failed")
    assert event.body["failure_reason"] == "the check broke"
    assert not events(services, "monitoring.violation")


def test_a_clean_check_completes_without_a_violation(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + GRACE
    passes.advance(now)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    finish(services, execution.job or "", {"mode": "check", "rows": 10, "violations": []})
    passes.advance(now + 1)
    done = services.monitoring.execution(ROOT, "churn-drift", execution.execution_id)
    assert done.status is ExecutionStatus.COMPLETED and done.report_url is None
    assert len(events(services, "monitoring.execution.completed")) == 1
    assert not events(services, "monitoring.violation")


def test_a_stopped_schedule_claims_nothing_and_starts_again_from_now(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    hour = T0 - T0 % HOUR
    services.monitoring.update(
        ROOT, "churn-drift", UpdateMonitoringSchedule(enabled=False), now=T0 + 1
    )
    passes = driver(services)
    passes.advance(hour + 5 * HOUR)
    assert _executions(services) == []
    services.monitoring.update(
        ROOT, "churn-drift", UpdateMonitoringSchedule(enabled=True), now=hour + 5 * HOUR + 10
    )
    passes.advance(hour + 6 * HOUR + GRACE)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert execution.window_start == hour + 5 * HOUR  # the hours it was off stay unchecked


def test_a_cron_schedule_checks_from_one_slot_to_the_next(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    capture(services, T0, [exchange("r1", [0.1, 0.2, 0.3], 0.7)])
    made = services.monitoring.create(
        ROOT, spec(baseline_folder(tmp_path), schedule="0 */6 * * *"), now=T0
    )
    day = T0 - T0 % (24 * HOUR)
    # T0 is 10:20: the window to 12:00 is checked at 12:00.
    assert (made.next_window_start, made.next_window_end) == (T0, day + 12 * HOUR)
    passes = driver(services)
    passes.advance(day + 12 * HOUR + GRACE)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert (execution.window_start, execution.window_end) == (T0, day + 12 * HOUR)
    job = services.jobs.get(ROOT, execution.job or "")
    assert len(job.spec["data"]["uris"]) == 2  # 10:20 to 12:00 reads the 10 and 11 hours


def test_run_now_checks_the_window_asked_for(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from dockyard.api.monitoring import RunMonitoringSchedule

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    hour = T0 - T0 % HOUR
    started = services.monitoring.run(
        ROOT, "churn-drift", RunMonitoringSchedule(start=hour - 3 * HOUR, end=hour), now=T0
    )
    assert started.trigger == "manual" and started.status is ExecutionStatus.PENDING
    driver(services).advance(T0)  # the hour in progress is not claimed; the manual run is
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    job = services.jobs.get(ROOT, execution.job or "")
    assert len(job.spec["data"]["uris"]) == 0  # no variant has captured anything yet
    assert (job.spec["window_start"], job.spec["window_end"]) == (hour - 3 * HOUR, hour)


def test_a_window_ending_in_the_future_is_refused_naming_end(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from dockyard.api.monitoring import RunMonitoringSchedule
    from dockyard.errors import InvalidArgument
    from dockyard.server.monitoring._service import RUN_AHEAD_MS

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    late = RunMonitoringSchedule(start=T0 - HOUR, end=T0 + RUN_AHEAD_MS + 1)
    with pytest.raises(InvalidArgument, match="ends in the future") as caught:
        services.monitoring.run(ROOT, "churn-drift", late, now=T0)
    assert caught.value.field == "end"
    assert _executions(services) == []
    skewed = RunMonitoringSchedule(start=T0 - HOUR, end=T0 + RUN_AHEAD_MS)  # a clock ahead
    assert services.monitoring.run(ROOT, "churn-drift", skewed, now=T0).status.value == "Pending"


def test_a_window_up_to_now_waits_for_the_workers_last_flush(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from dockyard.api.monitoring import RunMonitoringSchedule
    from dockyard.server.monitoring._driver import FLUSH_MS

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    window = RunMonitoringSchedule(start=T0 - HOUR, end=T0)
    services.monitoring.run(ROOT, "churn-drift", window, now=T0)
    passes = driver(services)
    passes.advance(T0 + FLUSH_MS - 1)  # records of the window's last second are on their way
    assert _monitoring_jobs(services) == [] and passes.due == T0 + FLUSH_MS
    passes.advance(T0 + FLUSH_MS)
    assert len(_monitoring_jobs(services)) == 1 and passes.due is None


def test_the_loop_leads_and_acts_when_woken(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from tests.server.monitoring.conftest import Clock
    from tests.server.notifications._receiver import until

    from dockyard.api.monitoring import RunMonitoringSchedule
    from dockyard.server.monitoring import MonitoringLoop

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    clock = Clock(T0)
    # An interval longer than the test: only wake-ups make it act.
    loop = MonitoringLoop(
        services.monitoring, services.db, tmp_path, services.events, clock=clock, interval_s=3600
    )
    loop.start()
    try:
        until(lambda: loop.is_leader, 10, "the loop leading")
        started = services.monitoring.run(ROOT, "churn-drift", RunMonitoringSchedule(), now=T0)

        def submitted() -> bool:
            found = services.monitoring.execution(ROOT, "churn-drift", started.execution_id)
            return found.status is ExecutionStatus.IN_PROGRESS

        until(submitted, 10, "the manual run's job submitted")
        finish(services, started.execution_id, {"rows": 0, "violations": []})

        def recorded() -> bool:
            found = services.monitoring.execution(ROOT, "churn-drift", started.execution_id)
            return found.status is ExecutionStatus.COMPLETED

        until(recorded, 10, "the ended job recorded")  # woken by the job's status change
    finally:
        loop.stop()


def test_a_job_ending_while_a_pass_reads_it_still_wakes_the_loop(
    services: Services, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass that submits a job then reads it as running; the job ends just after that read,
    before the pass has said it follows a job. That end must still wake the loop: nothing else
    would before its interval."""
    from tests.server.monitoring.conftest import Clock

    from dockyard.api.monitoring import RunMonitoringSchedule
    from dockyard.server.monitoring._driver import FLUSH_MS

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    loop = MonitoringLoop(
        services.monitoring, services.db, tmp_path, services.events, clock=Clock(T0)
    )
    try:
        loop.driver.advance(T0)  # nothing runs yet: no job's end concerns it
        started = services.monitoring.run(ROOT, "churn-drift", RunMonitoringSchedule(), now=T0)
        read = services.jobs.find
        ended: list[str] = []

        def read_then_end(name: str) -> Any:
            job = read(name)
            if job is not None and name == started.execution_id and not ended:
                execution = services.monitoring.execution(ROOT, "churn-drift", name)
                if execution.status is ExecutionStatus.IN_PROGRESS:  # the follow's read
                    ended.append(name)
                    loop._wake.clear()  # what woke this pass is spent
                    finish(services, name, {"rows": 0, "violations": []})
            return job

        monkeypatch.setattr(services.jobs, "find", read_then_end)
        loop.driver.advance(T0 + FLUSH_MS)
        assert ended == [started.execution_id]
        assert loop._wake.is_set(), "the job's end did not wake the loop"
    finally:
        loop.stop()


def test_a_window_waits_for_its_ground_truth_when_labels_come_late(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    quality = {"problem_type": "regression", "ground_truth_delay_hours": 2}
    made = services.monitoring.create(
        ROOT, spec(baseline_folder(tmp_path), model_quality=quality), now=T0
    )
    hour = T0 - T0 % HOUR
    # The next check is said as the loop runs it: two hours after the window, not at its end.
    assert (made.next_window_end, made.next_check_time) == (hour + HOUR, hour + 3 * HOUR + GRACE)
    passes = driver(services)
    passes.advance(hour + 3 * HOUR + GRACE - 1)
    assert _executions(services) == []
    passes.advance(hour + 3 * HOUR + GRACE)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert execution.window_start == hour
    job = services.jobs.get(ROOT, execution.job or "")
    assert len(job.spec["ground_truth_uris"]) == 4  # the labels of its hour and three more


def test_a_transform_jobs_files_are_checked(
    services: Services, model: Path, tmp_path: Path
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("0.1,0.2,0.3\n")
    services.jobs.submit_transform(
        ROOT,
        {
            "name": "nightly",
            "model_uri": str(model),
            "input": {"uri": str(scores), "content_type": "text/csv"},
        },
        str(tmp_path / "out"),
    )
    target = {"transform_job": "nightly", "side": "input"}
    services.monitoring.create(
        ROOT,
        spec(baseline_folder(tmp_path), target=target, data={"columns": ["a", "b", "c"]}),
        now=T0,
    )
    driver(services).advance(T0 - T0 % HOUR + HOUR + GRACE)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    data = services.jobs.get(ROOT, execution.job or "").spec["data"]
    assert data["uris"] == [str(scores)] and data["format"] == "csv"
    assert data["columns"] == ["a", "b", "c"]


def test_a_jobs_end_wakes_the_loop_only_while_a_monitoring_job_runs(
    services: Services, model: Path, tmp_path: Path
) -> None:
    wake = threading.Event()
    loop = MonitoringLoop(
        services.monitoring, services.db, services.settings.home, services.events, wake=wake
    )
    try:
        deploy(services, model)
        services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
        now = T0 - T0 % HOUR + HOUR + GRACE
        loop.driver.advance(now - HOUR)  # no window has ended yet: nothing runs
        wake.clear()  # the schedule's creation woke it
        loop._nudge("job.ended")  # another kind of job's end (a tuning trial's, say)
        assert not wake.is_set()
        loop._nudge("monitoring.schedule.updated")  # what it acts on always wakes it
        assert wake.is_set()
        loop.driver.advance(now)  # the hour's check job is submitted and runs
        wake.clear()  # (its events woke it)
        loop._nudge("job.ended")
        assert wake.is_set()
        (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
        finish(services, execution.job or "", {"mode": "check", "rows": 1, "violations": []})
        loop.driver.advance(now + 1)
        wake.clear()
        loop._nudge("job.ended")
        assert not wake.is_set()
    finally:
        loop.stop()
