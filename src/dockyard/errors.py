"""Dockyard's one exception hierarchy.

Every error a user can see is a :class:`DockyardError`. Each class carries the HTTP status it
maps to and a stable machine-readable ``code``; the server turns any of them into the same JSON
body in one place, and the SDK rebuilds the same class from that body, so ``except dy.NotFound``
works the same in-process and across the network::

    DockyardError                500 internal
    ├── InvalidArgument          400 invalid_argument
    ├── Unauthenticated          401 unauthenticated
    ├── PermissionDenied         403 permission_denied
    ├── NotFound                 404 not_found
    ├── Conflict                 409 conflict
    │   ├── AlreadyExists        409 already_exists
    │   └── InUse                409 in_use        (something still uses it: details name what)
    ├── PayloadTooLarge          413 payload_too_large
    ├── RateLimited              429 rate_limited
    ├── ModelError               500 model_error   (user model code raised)
    │   └── InputRejected        400 input_rejected (the model raised on the input it was given)
    ├── JobFailed                500 job_failed    (a job waited for did not complete)
    ├── Unavailable              503 unavailable
    └── DeadlineExceeded         504 deadline_exceeded

Foreign exceptions (SQLAlchemy, botocore, httpx) are translated at the boundary that calls them;
nothing outside that boundary catches them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DeadlineExceeded",
    "DockyardError",
    "InUse",
    "InputRejected",
    "InvalidArgument",
    "JobFailed",
    "ModelError",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "Undecryptable",
    "error_class_for_status",
    "error_from_dict",
    "invalid_from_validation",
]


class DockyardError(Exception):
    """Base class of every error Dockyard raises on purpose.

    Args:
        message: What went wrong, in words that name the problem (field, value, limit).
        field: The input field at fault, as a dotted path (``metrics.3.value``), if any.
        details: Extra machine-readable context (expected/received types, line, column...).
    """

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(
        self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body every API returns for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DockyardError):
    """The request is malformed or a value breaks a rule."""

    status_code = 400
    code = "invalid_argument"


class Unauthenticated(DockyardError):
    """No valid credentials were presented."""

    status_code = 401
    code = "unauthenticated"


class PermissionDenied(DockyardError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "permission_denied"


class NotFound(DockyardError):
    """The named resource does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(DockyardError):
    """The request conflicts with the resource's current state."""

    status_code = 409
    code = "conflict"


class AlreadyExists(Conflict):
    """A resource with this identity exists already."""

    code = "already_exists"


class InUse(Conflict):
    """The resource cannot go while something uses it (an endpoint serving a model version);
    ``details`` names the users."""

    code = "in_use"


class Undecryptable(Conflict):
    """A stored secret this server's key does not open (written under another key, or
    damaged): asking again will not help; the server's key must change."""

    code = "undecryptable"


class PayloadTooLarge(DockyardError):
    """The request body or a value is over a size limit."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(DockyardError):
    """Too many attempts (failed sign-ins) in a short time; ``details`` says when to retry."""

    status_code = 429
    code = "rate_limited"


class ModelError(DockyardError):
    """User model code raised while predicting or loading."""

    status_code = 500
    code = "model_error"


class InputRejected(ModelError):
    """The model raised while predicting on the input a request gave it (a missing value a
    scikit-learn estimator refuses, a category it never saw): the request's input is what the
    model cannot score, so it is the caller's to change, a 400 as MLflow's scoring server and
    MLServer answer it. Rollouts still count it against the model that raised."""

    status_code = 400
    code = "input_rejected"


class JobFailed(DockyardError):
    """A job (or an endpoint update) the caller waited for ended without completing; the message
    has its reason."""

    status_code = 500
    code = "job_failed"


class Unavailable(DockyardError):
    """A dependency (server, database, store) is unreachable; retrying may help."""

    status_code = 503
    code = "unavailable"


class DeadlineExceeded(DockyardError):
    """The operation did not finish within its time limit."""

    status_code = 504
    code = "deadline_exceeded"


_BY_CODE: dict[str, type[DockyardError]] = {
    cls.code: cls
    for cls in (
        DockyardError,
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        Undecryptable,
        AlreadyExists,
        InUse,
        PayloadTooLarge,
        RateLimited,
        ModelError,
        InputRejected,
        JobFailed,
        Unavailable,
        DeadlineExceeded,
    )
}


_BY_STATUS: dict[int, type[DockyardError]] = {
    cls.status_code: cls
    for cls in (
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        PayloadTooLarge,
        RateLimited,
        Unavailable,
        DeadlineExceeded,
    )
}


def error_class_for_status(status: int) -> type[DockyardError]:
    """The class an HTTP status stands for when the answer carries no Dockyard error body."""
    return _BY_STATUS.get(status, DockyardError)


def error_from_dict(body: dict[str, Any]) -> DockyardError:
    """Rebuild the error class a server sent (the inverse of :meth:`DockyardError.to_dict`)."""
    cls = _BY_CODE.get(str(body.get("code", "")), DockyardError)
    return cls(
        str(body.get("message", "unknown error")),
        field=body.get("field"),
        details=body.get("details") or None,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


# More problems than this in one request are counted, not listed: the answer stays small
# whatever the body (a mapping with ten thousand unknown keys).
_LISTED_PROBLEMS = 50
_DOTTED = re.compile(r"[A-Za-z_][\w]*(\.[\w]+)*")


def _problem(error: Any) -> dict[str, str]:
    """One pydantic error as ``{"field", "message"}`` in the API's words."""
    field = _field_path(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "field required"
    elif field == "body":
        # A rule across fields, raised by a model validator, names its field itself
        # ("output.accept: ..."): pydantic can only place it on the model.
        named, sep, rest = message.partition(": ")
        if sep and _DOTTED.fullmatch(named):
            field, message = named, rest
    return {"field": field, "message": message}


def invalid_from_validation(errors: Iterable[Any]) -> InvalidArgument:
    """Turn a pydantic error list into one InvalidArgument naming the first bad field.

    Used wherever a typed spec or request is validated (HTTP bodies, spec files), so every
    caller sees the same message and field path. The message lists every problem (up to 50;
    more are counted) and ``details["problems"]`` carries them as ``{"field", "message"}``.
    """
    items = list(errors)
    if not items:
        return InvalidArgument("invalid request")
    first = items[0]
    if first.get("type", "") == "json_invalid":
        ctx = first.get("ctx", {})
        message = str(first.get("msg", "invalid value"))
        return InvalidArgument(f"malformed JSON: {ctx.get('error', message)}", field="body")
    problems = [_problem(e) for e in items[:_LISTED_PROBLEMS]]
    listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    if len(items) == 1:
        text = listed
    else:
        text = f"{len(items)} problems: {listed}"
        if len(items) > len(problems):
            text += f"; {len(items) - len(problems)} more not listed"
    return InvalidArgument(text, field=problems[0]["field"], details={"problems": problems})
