"""Real-time endpoints: the control plane (configs, rollouts, scaling) over serving workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.endpoints._fleet import Fleet, stop_fleets
    from dockyard.server.endpoints._launcher import load_launcher
    from dockyard.server.endpoints._progress import read_progress
    from dockyard.server.endpoints._router import DOWN_S, Router, UpstreamError
    from dockyard.server.endpoints._service import EndpointService
    from dockyard.server.endpoints._supervisor import Supervisor

__all__ = [
    "DOWN_S",
    "EndpointService",
    "Fleet",
    "Router",
    "Supervisor",
    "UpstreamError",
    "load_launcher",
    "read_progress",
    "stop_fleets",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "DOWN_S": "._router",
        "EndpointService": "._service",
        "Router": "._router",
        "UpstreamError": "._router",
        "Fleet": "._fleet",
        "Supervisor": "._supervisor",
        "load_launcher": "._launcher",
        "read_progress": "._progress",
        "stop_fleets": "._fleet",
    },
)
