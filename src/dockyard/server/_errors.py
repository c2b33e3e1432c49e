"""The one place where exceptions become HTTP responses.

Every error body has the same shape, ``{"error": {"code", "message", "field"?, "details"?}}``, with
the status carried by the :mod:`dockyard.errors` class. Unexpected exceptions are logged with a
request id and answered with that id only: a client never sees a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.server._responses import JSON

__all__ = ["error_response", "install_error_handlers", "validation_error"]

log = logging.getLogger("dockyard.server")

_STATUS_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_argument",
}


def error_response(error: DockyardError) -> JSON:
    """The JSON response for a Dockyard error."""
    return JSON({"error": error.to_dict()}, status_code=error.status_code)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_error(errors: list[dict[str, Any]] | Any) -> InvalidArgument:
    """Turn pydantic's error list into one InvalidArgument naming the first bad field."""
    items = list(errors)
    if not items:
        return InvalidArgument("invalid request")
    first = items[0]
    loc = tuple(first.get("loc", ()))
    field = _field_path(loc)
    kind = first.get("type", "")
    message = str(first.get("msg", "invalid value"))
    if kind == "json_invalid":
        ctx = first.get("ctx", {})
        return InvalidArgument(f"malformed JSON: {ctx.get('error', message)}", field="body")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "field required"
    text = f"{field}: {message}"
    if len(items) > 1:
        text += f" (and {len(items) - 1} more problem{'s' if len(items) > 2 else ''})"
    problems = [
        {"field": _field_path(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
        for e in items[:20]
    ]
    return InvalidArgument(text, field=field, details={"problems": problems})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that map every exception to the one error shape."""

    @app.exception_handler(DockyardError)
    async def _dockyard(_: Request, exc: DockyardError) -> JSON:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSON:
        return error_response(validation_error(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSON:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
        return JSON(
            {"error": {"code": code, "message": message}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        request_id = uuid.uuid4().hex
        log.exception("unhandled error %s on %s %s", request_id, request.method, request.url.path)
        return JSON(
            {
                "error": {
                    "code": "internal",
                    "message": f"internal error; quote request id {request_id} to an operator",
                }
            },
            status_code=500,
        )
