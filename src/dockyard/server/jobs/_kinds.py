"""Kinds of job, by name: what the queue and the scheduler need to know about each.

A job's ``kind`` names one of :data:`dockyard.plugins.JOB_KINDS`; its runner looks up the work
it does in :data:`dockyard.plugins.RUNNER_KINDS` under the same name. Kinds to come (tuning,
pipelines) are *controllers*: they only start child jobs and wait for them, so they hold no
CPUs (``holds_capacity=False``) and a queued controller never stands in front of its own
children (:mod:`dockyard.server.jobs._capacity`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MONITORING", "TRAINING", "TRANSFORM", "JobKind", "job_kind"]


@dataclass(frozen=True, slots=True)
class JobKind:
    """One kind of job.

    Attributes:
        name: The ``kind`` jobs of this kind carry.
        holds_capacity: Whether the job uses the CPUs its spec asks for; False for a
            controller, which is queued with 0 CPUs and starts whatever the queue holds.
        resumable: Whether a failed or stopped job may be queued again (``resume``).
        has_outputs: Whether the job writes outputs of its own (listed and downloaded through
            ``/outputs``) rather than into its run's artifacts.
    """

    name: str
    holds_capacity: bool = True
    resumable: bool = False
    has_outputs: bool = False

    @property
    def default_experiment(self) -> str:
        """Where the job's run goes when its spec names no experiment."""
        return f"{self.name}-jobs"


TRAINING = JobKind("training")
TRANSFORM = JobKind("transform", resumable=True, has_outputs=True)
#: A monitoring schedule's check of one window (or its baseline): 1 CPU, its files as outputs.
MONITORING = JobKind("monitoring", has_outputs=True)


def job_kind(name: str) -> JobKind:
    """The kind called ``name``.

    Raises:
        InvalidArgument: No kind has that name.
    """
    from dockyard.plugins import JOB_KINDS, load

    kind: JobKind = load(JOB_KINDS, name, what="job kind", field="kind")
    return kind
