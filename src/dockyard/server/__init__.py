"""The Dockyard server: native REST API, compatibility adapters, health and metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server._app import create_app
    from dockyard.server._auth import read_local_key
    from dockyard.server._inprocess import InProcessTransport
    from dockyard.server._services import Services

__all__ = ["InProcessTransport", "Services", "create_app", "read_local_key"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "InProcessTransport": "._inprocess",
        "Services": "._services",
        "create_app": "._app",
        "read_local_key": "._auth",
    },
)
