"""Errors in MLflow's terms: the one place that turns any exception into MLflow's error body.

MLflow clients read ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`` and rebuild an
``MlflowException`` with that code; they also retry some statuses (408, 429, 5xx), so each code must
travel with the status MLflow's own server gives it. Where clients (and MLflow's tests) match the
words of a message (``Run .+ not found``, ``Registered Model .+ already exists``), the services'
errors name the resource in ``details`` and :func:`to_mlflow` says it in MLflow's words.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from dockyard.errors import (
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    DockyardError,
    InUse,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "BAD_REQUEST",
    "ENDPOINT_NOT_FOUND",
    "INTERNAL_ERROR",
    "INVALID_PARAMETER_VALUE",
    "NOT_IMPLEMENTED",
    "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_DOES_NOT_EXIST",
    "MlflowError",
    "error_response",
    "invalid_value",
    "missing_value",
]

log = logging.getLogger("dockyard.server.mlflow")

INVALID_PARAMETER_VALUE: Final = "INVALID_PARAMETER_VALUE"
BAD_REQUEST: Final = "BAD_REQUEST"
RESOURCE_DOES_NOT_EXIST: Final = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS: Final = "RESOURCE_ALREADY_EXISTS"
ENDPOINT_NOT_FOUND: Final = "ENDPOINT_NOT_FOUND"
NOT_IMPLEMENTED: Final = "NOT_IMPLEMENTED"
INTERNAL_ERROR: Final = "INTERNAL_ERROR"

# MLflow's ERROR_CODE_TO_HTTP_STATUS for the codes this adapter emits.
_STATUS: Final[dict[str, int]] = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    "RESOURCE_CONFLICT": 409,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    INTERNAL_ERROR: 500,
    NOT_IMPLEMENTED: 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

# Most specific class first. A Conflict (changing a logged param) is INVALID_PARAMETER_VALUE, as
# MLflow answers it, so `mlflow.log_param` raises the same exception against either server.
_CODES: Final[tuple[tuple[type[DockyardError], str], ...]] = (
    (AlreadyExists, RESOURCE_ALREADY_EXISTS),
    (InUse, "RESOURCE_CONFLICT"),  # a version an endpoint serves: MLflow's 409
    (Conflict, INVALID_PARAMETER_VALUE),
    (NotFound, RESOURCE_DOES_NOT_EXIST),
    (InvalidArgument, INVALID_PARAMETER_VALUE),
    # MLflow has no 413: its own size limits answer INVALID_PARAMETER_VALUE.
    (PayloadTooLarge, INVALID_PARAMETER_VALUE),
    (PermissionDenied, "PERMISSION_DENIED"),
    (Unauthenticated, "UNAUTHENTICATED"),
    (Unavailable, "TEMPORARILY_UNAVAILABLE"),
    (DeadlineExceeded, "DEADLINE_EXCEEDED"),
)


class MlflowError(Exception):
    """An error the adapter raises in MLflow's own terms (protocol rules, unknown endpoints).

    Args:
        error_code: One of MLflow's ``ErrorCode`` names.
        message: What went wrong, naming the parameter at fault.
    """

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status_code(self) -> int:
        """The HTTP status MLflow's server answers this code with."""
        return _STATUS.get(self.error_code, 500)


def _shown(value: Any) -> str:
    # MLflow quotes the offending value as compact JSON; long values are cut so a rejected 8 kB tag
    # does not come back whole in the error.
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def invalid_value(path: str, value: Any, hint: str | None = None) -> MlflowError:
    """MLflow's INVALID_PARAMETER_VALUE for a bad value, worded as MLflow words it."""
    message = f"Invalid value {_shown(value)} for parameter '{path}' supplied"
    return MlflowError(INVALID_PARAMETER_VALUE, f"{message}: {hint}" if hint else f"{message}.")


def missing_value(path: str) -> MlflowError:
    """MLflow's INVALID_PARAMETER_VALUE for a required parameter that is absent or empty."""
    return MlflowError(INVALID_PARAMETER_VALUE, f"Missing value for required parameter '{path}'.")


def _json_path(loc: tuple[int | str, ...]) -> str:
    # pydantic's ("metrics", 3, "key") is MLflow's "metrics[3].key".
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path or "body"


def _from_validation(exc: ValidationError) -> MlflowError:
    first = exc.errors(include_url=False)[0]
    path = _json_path(tuple(first["loc"]))
    # An absent or null required field reaches the model as None (an empty key as ""): MLflow
    # calls both missing.
    if first["type"] == "missing" or first.get("input") in (None, ""):
        return missing_value(path)
    return invalid_value(path, first.get("input"), str(first["msg"]))


def _mlflow_words(exc: DockyardError) -> str | None:
    """MLflow's wording for the errors whose words its clients match, None for the rest."""
    d = exc.details
    resource = d.get("resource")
    if isinstance(exc, NotFound):
        if resource == "run":
            return f"Run with id={d.get('run_id')} not found"
        if resource == "run_tag":
            return f"No tag with name: {d.get('key')} in run with id {d.get('run_id')}"
        if resource == "experiment" and "experiment_id" in d:
            return f"No Experiment with id={d['experiment_id']} exists"
        if resource == "experiment":
            return f"Experiment with name={d.get('name')} not found"
        if resource == "registered_model":
            return f"Registered Model with name={d.get('name')} not found"
        if resource == "model_version":
            return f"Model Version (name={d.get('name')}, version={d.get('version')}) not found"
    if isinstance(exc, AlreadyExists) and resource == "registered_model":
        return f"Registered Model (name={d.get('name')}) already exists."
    if isinstance(exc, InvalidArgument) and resource == "run" and "lifecycle_stage" in d:
        return (
            f"The run {d.get('run_id')} must be in the 'active' state. "
            f"Current state is {d['lifecycle_stage']}."
        )
    return None


def to_mlflow(exc: BaseException, *, where: str = "") -> MlflowError:
    """Translate any exception into the MLflow error a client should see.

    Args:
        exc: What a handler raised.
        where: The request (method and path), logged with unexpected errors.
    """
    if isinstance(exc, MlflowError):
        return exc
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    if isinstance(exc, DockyardError):
        message = _mlflow_words(exc) or exc.message
        for cls, code in _CODES:
            if isinstance(exc, cls):
                return MlflowError(code, message)
        return MlflowError(INTERNAL_ERROR, message)
    request_id = uuid.uuid4().hex
    log.error("unhandled error %s on %s", request_id, where or "an MLflow request", exc_info=exc)
    return MlflowError(
        INTERNAL_ERROR, f"internal error; quote request id {request_id} to an operator"
    )


def error_response(exc: BaseException, request: Request | None = None) -> Response:
    """The JSON response MLflow's server would send for ``exc``."""
    where = f"{request.method} {request.url.path}" if request is not None else ""
    error = to_mlflow(exc, where=where)
    body = orjson.dumps({"error_code": error.error_code, "message": error.message})
    return Response(body, status_code=error.status_code, media_type="application/json")
