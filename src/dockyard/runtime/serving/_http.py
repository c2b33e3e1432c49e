"""HTTP plumbing shared by the data-plane and admin ASGI apps: headers, bodies, responses.

Both apps are raw ASGI callables: on the hot path a framework's routing, request objects and
middleware stack cost more than the model does, so a request is a dict lookup on its path, one
pass over its headers and two ``send`` calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from dockyard.errors import InvalidArgument, PayloadTooLarge

_MAX_CUSTOM = 1024  # SageMaker Runtime's limit on CustomAttributes

__all__ = [
    "ClientGone",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestHeaders",
    "Scope",
    "Send",
    "UnsupportedMediaType",
    "json_response",
    "read_body",
    "respond",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JSON = b"application/json"


class UnsupportedMediaType(InvalidArgument):
    """The request's Content-Type is not one this route reads."""

    status_code = 415
    code = "unsupported_media_type"


class NotAcceptable(InvalidArgument):
    """No type in the request's Accept header is one this route writes."""

    status_code = 406
    code = "not_acceptable"


class MethodNotAllowed(InvalidArgument):
    """The route exists but not for this method."""

    status_code = 405
    code = "method_not_allowed"


class ClientGone(Exception):
    """The client disconnected before its body arrived: there is no one to answer."""


class RequestHeaders:
    """The request headers the data plane reads, found in one pass (names arrive lowercased)."""

    __slots__ = (
        "accept",
        "content_length",
        "content_type",
        "custom_attributes",
        "inference_header_length",
        "request_id",
        "target_variant",
    )

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.content_type: bytes | None = None
        self.accept: bytes | None = None
        self.content_length: bytes | None = None
        self.target_variant: bytes | None = None
        self.request_id: bytes | None = None
        self.inference_header_length: bytes | None = None
        self.custom_attributes: bytes | None = None
        for name, value in raw:
            if name == b"content-type":
                self.content_type = value
            elif name == b"content-length":
                self.content_length = value
            elif name == b"accept":
                self.accept = value
            elif name in (b"x-dockyard-target-variant", b"x-amzn-sagemaker-target-variant"):
                self.target_variant = value  # the second: SageMaker Runtime's (boto3's)
            elif name == b"x-request-id":
                self.request_id = value
            elif name == b"inference-header-content-length":
                self.inference_header_length = value
            elif name == b"x-amzn-sagemaker-custom-attributes":
                self.custom_attributes = value

    def check(self) -> None:
        """Refuse what SageMaker Runtime refuses of these headers (``CustomAttributes``: at
        most 1,024 ASCII characters)."""
        found = self.custom_attributes
        if found is not None and (len(found) > _MAX_CUSTOM or not found.isascii()):
            raise InvalidArgument(
                "X-Amzn-SageMaker-Custom-Attributes: at most 1024 ASCII characters, as "
                f"SageMaker Runtime takes (got {len(found)} bytes"
                f"{'' if found.isascii() else ', not all ASCII'})",
                field="CustomAttributes",
            )


async def read_body(
    receive: Receive, content_length: bytes | None, limit: int, timeout_s: float
) -> bytes:
    """The whole request body, refused as soon as it is known to exceed ``limit`` bytes.

    The declared length is checked before anything is read, and the bytes actually received
    are counted too, since a chunked body declares none.

    Raises:
        PayloadTooLarge: Over the limit.
        ClientGone: The client went away mid-body.
        TimeoutError: The body took longer than ``timeout_s`` to arrive.
    """
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise PayloadTooLarge(f"the request body is over the endpoint's limit of {limit} bytes")
    message = await receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        # Slow or chunked bodies are rare; only they pay for a timeout context.
        async with asyncio.timeout(timeout_s):
            parts = [body]
            size = len(body)
            while message.get("more_body", False):
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"the request body is over the endpoint's limit of {limit} bytes"
                    )
                parts.append(chunk)
            body = b"".join(parts)
    elif message["type"] == "http.disconnect":
        raise ClientGone
    if len(body) > limit:
        raise PayloadTooLarge(f"the request body is over the endpoint's limit of {limit} bytes")
    return body


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a whole response with a Content-Length (no chunked encoding)."""
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def json_response(
    send: Send, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send ``payload`` as JSON."""
    await respond(send, status, orjson.dumps(payload), JSON, extra)
