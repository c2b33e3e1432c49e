"""The contracts between Dockyard's processes: what the REST API accepts and returns, the
executor contract between the server and a job's runner, and a serving worker's configuration.

Shared by the server, the runtime processes and the clients; it imports none of them."""

from __future__ import annotations

__all__: list[str] = []
