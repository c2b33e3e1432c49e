"""Jobs: typed specs, a durable queue, kinds of job by name, executors behind one narrow
contract (:mod:`dockyard.jobs._executor`), SageMaker's training contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.jobs._entities import Job, JobEvent, JobStatus, SecondaryStatus
    from dockyard.jobs._executor import Capacity, Executor, Handle, Launch, RunnerStatus
    from dockyard.jobs._kinds import JobKind
    from dockyard.jobs._spec import (
        Channel,
        CheckpointConfig,
        MetricDefinition,
        OutputConfig,
        Resources,
        RetryStrategy,
        StoppingCondition,
        TrainingJobSpec,
    )

__all__ = [
    "Capacity",
    "Channel",
    "CheckpointConfig",
    "Executor",
    "Handle",
    "Job",
    "JobEvent",
    "JobKind",
    "JobStatus",
    "Launch",
    "MetricDefinition",
    "OutputConfig",
    "Resources",
    "RetryStrategy",
    "RunnerStatus",
    "SecondaryStatus",
    "StoppingCondition",
    "TrainingJobSpec",
]


_ENTITIES = {"Job", "JobEvent", "JobStatus", "SecondaryStatus"}
_EXECUTOR = {"Capacity", "Executor", "Handle", "Launch", "RunnerStatus"}


def __getattr__(name: str) -> Any:
    # A job's runner imports submodules of this package; pydantic loads only when asked for.
    if name in _ENTITIES:
        from dockyard.jobs import _entities

        return getattr(_entities, name)
    if name in _EXECUTOR:
        from dockyard.jobs import _executor

        return getattr(_executor, name)
    if name == "JobKind":
        from dockyard.jobs._kinds import JobKind

        return JobKind
    if name in __all__:
        from dockyard.jobs import _spec

        return getattr(_spec, name)
    raise AttributeError(f"module 'dockyard.jobs' has no attribute {name!r}")
