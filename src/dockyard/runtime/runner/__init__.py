"""A job's runner process (``python -m dockyard.runtime.runner._runner``), what it does for each
kind of job, SageMaker's training contract, and the local executor that starts runners."""

from __future__ import annotations

__all__: list[str] = []
