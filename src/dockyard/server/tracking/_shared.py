"""The experiments the server makes for everyone: where a job, tuning job or monitoring schedule
goes when its spec names no experiment.

They are shared as MLflow's experiment ``0`` is: whoever is first to need one makes it without
becoming its manager, and every signed-in user holds ``edit`` there (``*``), so every member
may add runs and submit jobs into it; the runs stay their authors'. Deleting or renaming one
takes an admin. Made under one of these names by any client, an experiment is made shared; no
experiment may be renamed to one, so none is taken by a member before the server needs it.
"""

from __future__ import annotations

__all__ = ["SHARED_EXPERIMENTS", "is_shared_experiment"]

#: Each job kind's default (``<kind>-jobs``), tuning jobs', and monitoring schedules'.
SHARED_EXPERIMENTS = frozenset(
    {"training-jobs", "transform-jobs", "monitoring-jobs", "tuning-jobs", "monitoring"}
)


def is_shared_experiment(name: str) -> bool:
    """Whether ``name`` is kept for an experiment the server makes for everyone."""
    return name in SHARED_EXPERIMENTS
