"""The CLI's client: the same one the SDK uses (server URL or embedded)."""

from __future__ import annotations

from dockyard.sdk import Client, connect
from dockyard.settings import Settings

__all__ = ["client"]


def client() -> Client:
    """A client built from ``DOCKYARD_*`` settings (``DOCKYARD_URI`` or the embedded default)."""
    return connect(Settings())
