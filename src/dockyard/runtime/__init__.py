"""Processes the server starts, which need nothing of its disk or database: a job's runner
(and the local executor that starts it), batch transform workers, serving workers. They talk to
the server over HTTP (:mod:`dockyard.client.http`) and to the artifact store."""

from __future__ import annotations

__all__: list[str] = []
