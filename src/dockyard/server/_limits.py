"""A size limit on request bodies, so no client can make the server buffer gigabytes of JSON.

Artifact and data uploads are exempt: they stream to the store in constant memory. Everything
else is read up to the limit here (a body over it is answered 413 before any route sees it)
and handed on whole.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.errors import PayloadTooLarge

__all__ = ["BodyLimit"]

_STREAMED = re.compile(
    r"^/api/v1/(runs/[^/]+/artifacts/|data/)|^/(ajax-)?api/2\.0/mlflow-artifacts/"
)


class BodyLimit:
    """Answer 413 to bodies over ``max_bytes`` on every route that does not stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or _STREAMED.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        from dockyard.server._auth import send_error

        limit = self.max_bytes // (1024 * 1024)
        error = PayloadTooLarge(f"request body over the {limit} MB limit", field="body")
        # In the shape the caller's client reads (an MLflow client: its error_code), and the
        # connection closes: the rest of the body is not read.
        await send_error(_closing(send), scope, error)


def _closing(send: Send) -> Send:
    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return closing


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()  # after the body: disconnect notices
        return {"type": "http.disconnect"}

    return receive
