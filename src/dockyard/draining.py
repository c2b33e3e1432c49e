"""How a long-lived answer learns that its server is shutting down.

uvicorn, asked to stop, closes idle connections and waits for every answer in progress to end.
An event stream ends on its own only after minutes or never, so the server would wait that long.
The serving protocol (:class:`dockyard.connection_guard.GuardedProtocol`) therefore puts one
:class:`asyncio.Event` per server into the state uvicorn copies into every request's scope, and
sets it when shutdown begins; a stream watches it and ends at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

__all__ = ["draining", "draining_event"]

_KEY = "dockyard.draining"


def draining_event(app_state: MutableMapping[str, Any]) -> asyncio.Event:
    """The server's draining event, made on first use (``app_state`` is uvicorn's, per server)."""
    event = app_state.get(_KEY)
    if not isinstance(event, asyncio.Event):
        event = app_state[_KEY] = asyncio.Event()
    return event


def draining(scope: MutableMapping[str, Any]) -> asyncio.Event | None:
    """The event a request's server sets when it begins to shut down; None when the app is not
    served by the guarded protocol (in-process clients, tests), where nothing shuts down under
    a request."""
    event = scope.get("state", {}).get(_KEY)
    return event if isinstance(event, asyncio.Event) else None
