"""Training jobs: a typed spec, a durable queue, a local executor, SageMaker's training contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.jobs._entities import Job, JobEvent, JobStatus, SecondaryStatus
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
    "Channel",
    "CheckpointConfig",
    "Job",
    "JobEvent",
    "JobStatus",
    "MetricDefinition",
    "OutputConfig",
    "Resources",
    "RetryStrategy",
    "SecondaryStatus",
    "StoppingCondition",
    "TrainingJobSpec",
]


_ENTITIES = {"Job", "JobEvent", "JobStatus", "SecondaryStatus"}


def __getattr__(name: str) -> Any:
    # A job's runner imports submodules of this package; pydantic loads only when asked for.
    if name in _ENTITIES:
        from dockyard.jobs import _entities

        return getattr(_entities, name)
    if name in __all__:
        from dockyard.jobs import _spec

        return getattr(_spec, name)
    raise AttributeError(f"module 'dockyard.jobs' has no attribute {name!r}")
