"""An ASGI app that answers every request at once with ``{}``: the ceiling a client can reach.

Served by uvicorn with the same workers, event loop and HTTP parser as Dockyard, it costs only
the client and the transport; ``bench/control_plane.py`` measures Dockyard against it.
"""

from __future__ import annotations

from typing import Any

_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, then answer ``200 {}`` (``/health`` too)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})
