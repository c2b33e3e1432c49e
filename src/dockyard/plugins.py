"""Pluggable parts, each named in one list of ``(name, "module:attribute")`` and imported only
when chosen, so a server that never runs a transform never imports batch code, and a runner
imports none of the server's.

==================  =====================================  ===================================
table               chosen by                               what the attribute is
==================  =====================================  ===================================
``EXECUTORS``       ``DOCKYARD_EXECUTOR``                   an
:class:`~dockyard.server.jobs.Executor`
                                                            class, built with the settings
``WORKER_LAUNCHERS`` ``DOCKYARD_WORKER_LAUNCHER``           a class starting serving workers
``JOB_KINDS``       a job's ``kind`` (server side)          a :class:`~dockyard.server.jobs.JobKind`
``RUNNER_KINDS``    a job's ``kind`` (in the runner)        the runner's work for that kind
``FUNCTION_CALLERS`` ``DOCKYARD_EXECUTOR``                  a class running pipeline function
                                                            calls on that executor's machines
                                                            (absent: on the server's)
==================  =====================================  ===================================

A setting may also name an out-of-tree plugin directly as ``package.module:Attribute``.
"""

from __future__ import annotations

import importlib
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = [
    "EXECUTORS",
    "FUNCTION_CALLERS",
    "JOB_KINDS",
    "RUNNER_KINDS",
    "WORKER_LAUNCHERS",
    "load",
    "names",
]

Table = tuple[tuple[str, str], ...]

EXECUTORS: Table = (
    ("local", "dockyard.runtime.runner._local:LocalExecutor"),
    ("ray", "dockyard.runtime.runner._ray:RayExecutor"),
)
FUNCTION_CALLERS: Table = (("ray", "dockyard.runtime.functions._ray:ClusterCalls"),)
WORKER_LAUNCHERS: Table = (
    ("local", "dockyard.server.endpoints._launcher:LocalWorkerLauncher"),
    ("ray", "dockyard.runtime.serving._raylauncher:RayWorkerLauncher"),
)
JOB_KINDS: Table = (
    ("training", "dockyard.server.jobs._kinds:TRAINING"),
    ("transform", "dockyard.server.jobs._kinds:TRANSFORM"),
    ("monitoring", "dockyard.server.jobs._kinds:MONITORING"),
)
RUNNER_KINDS: Table = (
    ("training", "dockyard.runtime.runner._work:TrainingWork"),
    ("transform", "dockyard.runtime.runner._work:TransformWork"),
    ("monitoring", "dockyard.runtime.runner._work:MonitoringWork"),
)


def names(table: Table) -> list[str]:
    """The names ``table`` knows."""
    return [name for name, _ in table]


def load(
    table: Table, name: str, *, what: str, field: str | None = None, external: bool = False
) -> Any:
    """The attribute ``name`` stands for in ``table``, imported now.

    Args:
        what: How errors call the thing (``executor``).
        field: The setting or field that named it, for the error.
        external: Whether ``name`` may also be a ``module:attribute`` path outside the table.

    Raises:
        InvalidArgument: An unknown name, or a path that does not import.
    """
    path = dict(table).get(name)
    if path is None:
        if not (external and ":" in name):
            known = ", ".join(names(table))
            raise InvalidArgument(f"unknown {what} {name!r}: known ones are {known}", field=field)
        path = name
    module, _, attribute = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(
            f"{what} {name!r} ({path}) cannot be loaded: {exc}", field=field
        ) from exc
