"""Real-time endpoints: the control plane (configs, rollouts, scaling) over serving workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.endpoints._fleet import Fleet
    from dockyard.server.endpoints._launcher import load_launcher
    from dockyard.server.endpoints._progress import read_progress
    from dockyard.server.endpoints._service import EndpointService
    from dockyard.server.endpoints._supervisor import Supervisor

__all__ = ["EndpointService", "Fleet", "Supervisor", "load_launcher", "read_progress"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "EndpointService": "._service",
        "Fleet": "._fleet",
        "Supervisor": "._supervisor",
        "load_launcher": "._launcher",
        "read_progress": "._progress",
    },
)
