"""A size limit on request bodies, so no client can make the server buffer gigabytes of JSON.

Every method's: a GET or a DELETE with a body is read too (MLflow's routes take their
parameters from one).

Artifact and data uploads are exempt: they stream to the store in constant memory. Everything
else is read up to the limit here (a body over it is answered 413 before any route sees it)
and handed on whole.

The routes open to anyone (signing in, triggers' hooks, which their secrets authenticate only
once the body is read) have smaller limits of their own: every other body is read only after
its sender is known, and a client without credentials must not make the server hold 32 MB per
connection. SageMaker Runtime's ``InvokeEndpoint`` is held to the endpoints' workers' own limit,
and refused as they refuse it: the server would otherwise hold a body of up to 32 MB and send
it on, only for the worker to refuse it.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.api.serving.config import MAX_BODY_BYTES
from dockyard.errors import PayloadTooLarge
from dockyard.server._auth import send_error
from dockyard.server._nul import nul_in_body

__all__ = ["HOOK_MAX_BYTES", "BodyLimit"]

#: A push payload is rarely past a few hundred KB; GitHub caps them at 25 MB.
HOOK_MAX_BYTES = 5 * 1024 * 1024
_OPEN = (
    (re.compile(r"^/api/v1/session$"), 64 * 1024),  # a name and a password
    (re.compile(r"^/api/v1/hooks/triggers/"), HOOK_MAX_BYTES),
    (re.compile(r"^/api/v1/confirm-subscription$"), 4 * 1024),  # the token is in the query
)

# Passed on to an endpoint's workers, whose limit it is (their message, so either says the same).
_INVOKE = re.compile(r"^/endpoints/[^/]+/invocations$")

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
            or (scope["method"] not in ("POST", "PUT", "PATCH") and not _has_body(scope))
            or _STREAMED.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        limit = next((n for path, n in _OPEN if path.match(scope["path"])), self.max_bytes)
        if limit > MAX_BODY_BYTES and _INVOKE.match(scope["path"]):
            limit = MAX_BODY_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, send, limit)
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
            if size > limit:
                await self._too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # Whole here, so asked here: what PostgreSQL could not store (a model's input may hold
        # anything; it is not stored).
        refused = None if _INVOKE.match(scope["path"]) else nul_in_body(scope, body)
        if refused is not None:
            await send_error(send, scope, refused)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
        error = PayloadTooLarge(f"request body over the {size} limit", field="body")
        if limit == MAX_BODY_BYTES and _INVOKE.match(scope["path"]):
            error = PayloadTooLarge(
                f"the request body is over the endpoint's limit of {limit} bytes", field="Body"
            )
        # In the shape the caller's client reads (an MLflow client: its error_code), and the
        # connection closes: the rest of the body is not read.
        await send_error(_closing(send), scope, error)


def _has_body(scope: Scope) -> bool:
    """Whether a request of another method (GET, DELETE...) comes with a body: MLflow's routes
    read their parameters from one, so it is limited as a POST's is."""
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


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
