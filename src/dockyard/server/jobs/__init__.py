"""Jobs: typed specs, a durable queue, kinds of job by name, executors behind one narrow
contract (:mod:`dockyard.api.jobs._executor`), SageMaker's training contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.jobs._executors import Executors
    from dockyard.server.jobs._kinds import JobKind
    from dockyard.server.jobs._scheduler import Scheduler
    from dockyard.server.jobs._service import JOB_ENDED, JobService

__all__ = ["JOB_ENDED", "Executors", "JobKind", "JobService", "Scheduler"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "JOB_ENDED": "._service",
        "Executors": "._executors",
        "JobKind": "._kinds",
        "JobService": "._service",
        "Scheduler": "._scheduler",
    },
)
