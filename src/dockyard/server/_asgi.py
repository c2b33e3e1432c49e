"""Reading a request and answering it as plain ASGI, for the endpoints clients call in loops.

Starlette's ``Request``, ``Response`` and the exception wrapper around a function endpoint cost
a tenth of a small call's server time; an endpoint that catches every exception itself (the
MLflow endpoints, AWS's ``POST /``) needs none of them, and reads and answers with these.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

__all__ = ["header", "media_type", "read_body", "send_body"]


async def read_body(receive: Receive) -> bytes:
    """The whole request body, as ``Request.body`` reads it.

    Raises:
        ClientDisconnect: The client went away before the body was whole.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the request header ``name`` (lower case), as ``Headers.get``."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def media_type(scope: Scope) -> str:
    """The request's ``Content-Type`` without its parameters, lower case (``""`` if none)."""
    return (header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()


async def send_body(send: Send, body: bytes, content_type: bytes, status: int = 200) -> None:
    """Answer with ``body`` in two messages (the server writes them as one)."""
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
