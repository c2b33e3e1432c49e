"""Exceptions as AWS's JSON protocol returns them: ``{"__type": code, "message": ...}`` and a
status, which botocore turns into ``ClientError`` with ``Error.Code``."""

from __future__ import annotations

import logging
import uuid

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from dockyard.errors import DockyardError, InvalidArgument, NotFound, PermissionDenied

__all__ = ["AwsError", "aws_error", "internal"]

log = logging.getLogger("dockyard.server.compat.aws")

#: Fields whose bad values AWS reports with a code of their own.
_FIELD_CODES = {
    "stateMachineArn": "InvalidArn",
    "executionArn": "InvalidArn",
    "arn": "InvalidArn",
    "name": "InvalidName",
    "input": "InvalidExecutionInput",
    "output": "InvalidOutput",
    "taskToken": "InvalidToken",
}


class AwsError(DockyardError):
    """An error with AWS's own code (``UnknownOperationException``...)."""

    status_code = 400

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def _kind(exc: DockyardError) -> tuple[str, int]:
    if isinstance(exc, AwsError):
        return exc.kind, exc.status
    named = getattr(exc, "aws", None)
    if isinstance(named, str):
        return named, 400  # an error AWS has a name for (StateMachineDoesNotExist)
    if isinstance(exc, InvalidArgument):
        return _FIELD_CODES.get((exc.field or "").split(".")[0], "ValidationException"), 400
    if isinstance(exc, PermissionDenied):
        return "AccessDeniedException", 400
    if isinstance(exc, NotFound):
        return "ResourceNotFound", 400
    if exc.status_code == 401:
        return "UnrecognizedClientException", 400
    if exc.status_code == 429:
        return "ThrottlingException", 400
    if exc.status_code == 409:
        return "ConflictException", 400
    return "InternalFailure", 500 if exc.status_code >= 500 else 400


def internal(exc: Exception, what: str) -> str:
    """A bug's message for the caller: a request id to quote, the exception itself only in the
    server's log (its text can carry the server's paths, SQL or secrets), as the native API
    answers."""
    request_id = uuid.uuid4().hex
    log.error("%s failed, request id %s", what, request_id, exc_info=exc)
    return f"internal error; quote request id {request_id} to an operator"


def aws_error(exc: Exception, content_type: str) -> Response:
    """The response for ``exc`` (a bug answers InternalFailure and is logged, never a 500
    page)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        loc = [str(p) for p in first.get("loc", ())]
        kind = _FIELD_CODES.get(loc[0] if loc else "", "ValidationException")
        # pydantic's "Value error, " prefix is its own wording, not the problem's
        said = str(first.get("msg")).removeprefix("Value error, ")
        status, message = 400, f"{'.'.join(loc)}: {said}"
    elif isinstance(exc, DockyardError):
        (kind, status), message = _kind(exc), exc.message
    else:
        kind, status, message = "InternalFailure", 500, internal(exc, "AWS JSON action")
    body = orjson.dumps({"__type": kind, "message": message})
    return Response(
        body,
        status_code=status,
        media_type=content_type,
        headers={"x-amzn-errortype": kind},
    )
