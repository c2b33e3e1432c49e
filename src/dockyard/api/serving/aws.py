"""SageMaker Runtime's ``InvokeEndpoint`` on the data plane: boto3 and the SageMaker SDK unchanged.

``POST /endpoints/{EndpointName}/invocations`` is the path boto3's ``sagemaker-runtime``
client (``invoke_endpoint``) sends to, with ``endpoint_url`` (or
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``) pointing at the endpoint's own port or at the server
(which passes it on, see :mod:`dockyard.server.routes.invocations`). The request is the same as
``POST /invocations`` (``Content-Type``, ``Accept``; ``X-Amzn-SageMaker-Target-Variant`` pins a
variant, ``X-Amzn-SageMaker-Custom-Attributes`` reaches inference handlers); the answer adds
the headers boto3 reads (``x-Amzn-Invoked-Production-Variant``, ``x-amzn-RequestId``,
``X-Amzn-SageMaker-Custom-Attributes`` when the model set them).

Errors take AWS's JSON shape, ``{"__type": ..., "message": ...}`` with the type also in
``x-amzn-ErrorType``, so botocore raises the modelled exception:

=========================================  ==========================  ======
what went wrong                            ``__type``                  status
=========================================  ==========================  ======
the model refused the request or failed    ``ModelError``              424
(decoding, signature, predict, timeout)    (``OriginalStatusCode``,
                                           ``OriginalMessage``)
unknown endpoint or variant, bad request   ``ValidationError``         400
body over the limit                        ``ValidationError``         413
no or a wrong credential                   ``UnrecognizedClientException``  401
not allowed                                ``AccessDeniedException``   403
too many requests                          ``ThrottlingException``     429
draining, overloaded                       ``ServiceUnavailable``      503
a defect of Dockyard's                     ``InternalFailure``         500
=========================================  ==========================  ======

As in SageMaker, ``ModelError`` is what botocore raises for anything the model (its container,
here its worker) answered with an error status: ``e.response["OriginalStatusCode"]`` holds that
status and ``OriginalMessage`` the body the native route would have sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.errors import DockyardError

__all__ = [
    "PREFIX",
    "SUFFIX",
    "endpoint_of",
    "error",
    "model_error",
    "unsupported",
    "unsupported_operation",
]

PREFIX = "/endpoints/"
SUFFIX = "/invocations"
JSON = b"application/x-amz-json-1.1"

_BY_STATUS = {
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    429: "ThrottlingException",
    503: "ServiceUnavailable",
}


def endpoint_of(path: str) -> str | None:
    """The endpoint name in ``/endpoints/{name}/invocations``; None for another path."""
    if not path.startswith(PREFIX) or not path.endswith(SUFFIX):
        return None
    name = path[len(PREFIX) : -len(SUFFIX)]
    return name if name and "/" not in name else None


#: InvokeEndpoint parameters for SageMaker features Dockyard endpoints do not have: refused
#: rather than ignored, so a caller never gets an answer from another model than it asked for.
_UNSUPPORTED = {
    b"x-amzn-sagemaker-target-model": "TargetModel (multi-model endpoints)",
    b"x-amzn-sagemaker-target-container-hostname": "TargetContainerHostname",
    b"x-amzn-sagemaker-inference-component": "InferenceComponentName",
    b"x-amzn-sagemaker-session-id": "SessionId (stateful sessions)",
}


def unsupported(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why the request cannot be answered as asked, if it names a feature Dockyard lacks."""
    for name, _ in headers:
        what = _UNSUPPORTED.get(name)
        if what is not None:
            return f"{what} is not supported by Dockyard endpoints"
    return None


#: SageMaker Runtime's other operations on an endpoint, by the path suffix botocore sends them to.
_OPERATIONS = {
    "/async-invocations": "InvokeEndpointAsync (asynchronous inference)",
    "/invocations-response-stream": "InvokeEndpointWithResponseStream (streamed responses)",
}


def unsupported_operation(path: str) -> str | None:
    """Why ``path`` is not answered, when it is one of SageMaker Runtime's operations that
    Dockyard endpoints lack (a ``ValidationError`` naming it, rather than a bare 404 that
    botocore shows with no message)."""
    if not path.startswith(PREFIX):
        return None
    for suffix, what in _OPERATIONS.items():
        name = path[len(PREFIX) : -len(suffix)] if path.endswith(suffix) else ""
        if name and "/" not in name:
            return f"{what} is not supported by Dockyard endpoints: use InvokeEndpoint"
    return None


def _body(kind: str, message: str, **extra: Any) -> bytes:
    return orjson.dumps({"__type": kind, "message": message, **extra})


def error(
    exc: DockyardError | None, request_id: bytes
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """An error the runtime itself answers (not the model's): status, body, extra headers."""
    if exc is None:
        kind, status = "InternalFailure", 500
        message = "internal error; the worker log has details"
    else:
        status = exc.status_code
        kind = _BY_STATUS.get(status) or ("InternalFailure" if status >= 500 else "ValidationError")
        message = exc.message
        if exc.field == "X-Dockyard-Target-Variant":
            message = message.replace("X-Dockyard-Target-Variant", "TargetVariant", 1)
    message = f"{message} (request {request_id.decode('latin-1')})"
    return status, _body(kind, message), _headers(kind, request_id)


def model_error(
    status: int, original: bytes, variant: str, request_id: bytes
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The model's own error answer (``original``, with ``status``) wrapped as SageMaker's
    ``ModelError``: what botocore raises as ``ModelError``."""
    side = "client" if status < 500 else "server"
    try:
        text = str(orjson.loads(original).get("message", ""))
    except (orjson.JSONDecodeError, AttributeError):
        text = original.decode("utf-8", "replace")
    message = (
        f'Received {side} error ({status}) from variant {variant} with message "{text}". '
        f"(request {request_id.decode('latin-1')})"
    )
    body = _body(
        "ModelError",
        message,
        OriginalStatusCode=status,
        OriginalMessage=original.decode("utf-8", "replace"),
    )
    return 424, body, _headers("ModelError", request_id)


def _headers(kind: str, request_id: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"x-amzn-errortype", kind.encode()), (b"x-amzn-requestid", request_id)]
