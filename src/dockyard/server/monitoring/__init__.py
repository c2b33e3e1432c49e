"""Model monitoring: schedules that check an endpoint's captured traffic (or a transform's
files) against a baseline, each completed hour or on a cron schedule, and the model's quality
when ground truth arrives.

Layout::

    _windows.py     windows: each completed hour, or from one cron slot to the next
    _repository.py  SQL for schedules and executions
    _views.py       rows as the API returns them
    _checks.py      what a spec names, checked against the world once (each error names a field)
    _ground_truth.py  labels as uploaded: JSON list or JSON Lines, checked record by record
    _service.py     the rules: create, read, update, delete, run now, ground truth, reports;
                    who jobs run as
    _driver.py      one pass of the loop: claim ended windows, submit jobs, record ends
    _loop.py        the leader-locked loop that makes the passes (its clock injectable)

Every check is a job of kind ``monitoring`` (1 CPU; its files are its outputs) whose runner
(:mod:`dockyard.runtime.monitor`) calls the core (:mod:`dockyard.monitor`). Events:
``monitoring.schedule.created`` / ``.updated`` / ``.deleted``, ``monitoring.baseline.completed``
/ ``.failed``, ``monitoring.execution.requested`` (run now), ``monitoring.execution.completed``
/ ``.failed``, one ``monitoring.violation`` per execution that found violations, and
``monitoring.ground_truth.uploaded``; they reach notifications and triggers like any other.

The API's requests and resources are in :mod:`dockyard.api.monitoring`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.monitoring._driver import MonitoringDriver
    from dockyard.server.monitoring._loop import MonitoringLoop
    from dockyard.server.monitoring._service import MonitoringService

__all__ = ["MonitoringDriver", "MonitoringLoop", "MonitoringService"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "MonitoringDriver": "._driver",
        "MonitoringLoop": "._loop",
        "MonitoringService": "._service",
    },
)
