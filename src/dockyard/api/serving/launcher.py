"""What a serving-worker launcher hands the server: a handle per worker (plain data, kept in the
endpoint's ``workers.json``) and the admin calls the control plane makes on a worker.

Launchers live where their workers' side of the work does: the local one in the server, the Ray
one beside the Ray executor (:mod:`dockyard.runtime.serving._raylauncher`); both speak these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dockyard.api.serving.config import WorkerConfig

__all__ = ["READY_TIMEOUT_S", "WorkerCalls", "WorkerHandle"]

#: How long a worker may take to load its models and serve.
READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class WorkerHandle:
    """One worker: how to find it again, and its admin socket (config, stats, metrics)."""

    pid: int
    create_time: float
    admin_socket: str
    #: Names its log (``logs/<worker_id>``); empty for a worker started before workers had ids.
    worker_id: str = ""
    #: Where the worker listens when it has an address of its own (a replica on a cluster
    #: node, which the server's router sends requests to); empty for one on the endpoint's port.
    host: str = ""
    port: int = 0
    #: The cluster actor answering for the worker, and the node it runs on (Ray launcher).
    replica: str = ""
    node: str = ""


class WorkerCalls(Protocol):
    """The admin calls the control plane makes on one worker (a :class:`WorkerAdmin` or a
    launcher's relay to a worker on another machine)."""

    def __enter__(self) -> WorkerCalls: ...

    def __exit__(self, *exc: object) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def metrics(self) -> str: ...

    def config(self) -> tuple[int, WorkerConfig]: ...

    def update_config(self, config: WorkerConfig) -> dict[str, Any]: ...
