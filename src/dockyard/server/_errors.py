"""The one place where exceptions become HTTP responses.

Every error body has the same shape, ``{"error": {"code", "message", "field"?, "details"?}}``, with
the status carried by the :mod:`dockyard.errors` class. Unexpected exceptions are logged with a
request id and answered with that id only: a client never sees a stack trace.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from dockyard.api.serving import aws as _aws
from dockyard.errors import DockyardError, InvalidArgument, invalid_from_validation
from dockyard.server._responses import JSON

__all__ = ["error_response", "install_error_handlers"]

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


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that map every exception to the one error shape."""

    @app.exception_handler(DockyardError)
    async def _dockyard(_: Request, exc: DockyardError) -> JSON:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSON:
        return error_response(invalid_from_validation(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        lacking = _aws.unsupported_operation(request.url.path) if exc.status_code == 404 else None
        if lacking is not None:  # SageMaker Runtime's: answered as botocore reads errors
            status, body, headers = _aws.error(InvalidArgument(lacking), uuid.uuid4().hex.encode())
            return Response(
                body,
                status,
                headers={k.decode(): v.decode() for k, v in headers},
                media_type=_aws.JSON.decode(),
            )
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
