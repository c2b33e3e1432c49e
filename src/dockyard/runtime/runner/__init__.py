"""A job's runner process (``python -m dockyard.runtime.runner._runner``), what it does for each
kind of job, SageMaker's training contract, and the executors that start runners: the local
one (processes on the server's machine) and the Ray one (actors on a cluster)."""

from __future__ import annotations

__all__: list[str] = []
