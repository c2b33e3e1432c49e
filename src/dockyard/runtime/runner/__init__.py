"""A job's runner process (``python -m dockyard.runtime.runner._runner``), what it does for each
kind of job, SageMaker's training contract, and the executors that start runners: the local
one (processes on the server's machine) and the Ray one (actors on a cluster)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.runtime.runner._ray import connect
    from dockyard.runtime.runner._rayhost import forwarded_environment

__all__ = ["connect", "forwarded_environment"]
__getattr__, __dir__ = exports(__name__, {"connect": "._ray", "forwarded_environment": "._rayhost"})
