"""An httpx transport that calls an ASGI app in this process, without sockets.

The embedded default uses it so the SDK talks to exactly the same HTTP application a server runs:
one implementation of every rule, no second in-process store. The app runs on a private event
loop in a daemon thread; each request is a coroutine submitted to that loop.
"""

from __future__ import annotations

import asyncio
import getpass
import threading
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from dockyard.server._auth import LOCAL_USER

__all__ = ["InProcessTransport"]


class _Body(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self._data


class InProcessTransport(httpx.BaseTransport):
    """Send httpx requests straight into ``app``.

    Args:
        app: The ASGI application (for example ``dockyard.server.create_app(...)``).
        local: Act as the local user who owns this process (the embedded default). False sends
            requests as a network client would, credentials and all.
    """

    def __init__(self, app: ASGIApp, *, local: bool = True) -> None:
        self._app = app
        self._extensions = {LOCAL_USER: getpass.getuser()} if local else {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="dockyard-embedded", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request, body), self._loop)
        status, headers, content = future.result()
        return httpx.Response(status, headers=headers, stream=_Body(content), request=request)

    async def _call(
        self, request: httpx.Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = request.url
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 0),
            "server": (url.host, url.port or 80),
            # The app runs in the caller's own process, over files the caller owns: it acts as
            # that local user, whatever accounts the database holds.
            "extensions": self._extensions,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the app listens for disconnect; never comes
            raise AssertionError("unreachable")

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
