"""The Dockyard server: native REST API, compatibility adapters, health and metrics."""

from __future__ import annotations

from dockyard.server._app import create_app
from dockyard.server._services import Services

__all__ = ["Services", "create_app"]
