"""Training jobs: a typed spec, a durable queue, a local executor, SageMaker's training contract."""

from __future__ import annotations

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
