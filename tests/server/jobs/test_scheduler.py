"""What wakes the scheduler wherever it leads: the queue or the capacity in use changing."""

from __future__ import annotations

from dockyard.server._services import Services
from dockyard.server.jobs import JOB_ENDED, Scheduler


def test_the_queue_changing_in_another_process_wakes_the_scheduler(services: Services) -> None:
    jobs = services.jobs
    scheduler = Scheduler(jobs, jobs.executor, services.settings, "http://127.0.0.1:1")
    try:
        # What the event log's peers hand this process when another one appends (notify):
        # a job queued or ending there changes what this scheduler may start.
        for type in ("job.submitted", "job.stop_requested", JOB_ENDED):
            jobs.wake.clear()
            services.events.notify(type)
            assert jobs.wake.is_set(), type
        jobs.wake.clear()
        services.events.notify("job.status_changed")  # a job's progress: no capacity freed
        services.events.notify("run.logged")
        assert not jobs.wake.is_set()
    finally:
        scheduler.stop()
