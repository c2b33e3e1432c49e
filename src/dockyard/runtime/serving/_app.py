"""The data-plane ASGI app: SageMaker, MLflow scoring and OIP v2 routes on one port.

One inference request: read the headers once, pick the variant (pinned or weighted), read the
body (413 past the limit), decode it for that variant's signature, queue it for the batcher and
wait at most the request timeout (504), encode by protocol and ``Accept``, answer with
``X-Dockyard-Variant`` and ``X-Request-Id``. Bookkeeping after the answer is sent: statistics,
access log, capture, shadow copy; each is a few appends, and the slow parts (writing files,
running the shadow model) happen on other threads.

An endpoint that requires API keys checks one before any of this (:mod:`._keys`); only health
checks need none. Before that, a request a web page could have sent through a user's browser
(a rebound ``Host``, a state change from another origin) is refused
(:mod:`dockyard.api.serving._browsers`).

Errors are :class:`~dockyard.errors.DockyardError` bodies with the request id; anything else
is a bug, answered as a 500 with the request id while its traceback goes to stderr only.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import traceback
from random import random
from time import perf_counter
from typing import Any

import orjson

from dockyard.api.serving import BrowserGuard
from dockyard.api.serving import aws as _aws
from dockyard.errors import (
    DeadlineExceeded,
    DockyardError,
    InputRejected,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from dockyard.models import Invoked, dockyard_version
from dockyard.runtime.serving import _oip, _sagemaker
from dockyard.runtime.serving._accesslog import AccessLog
from dockyard.runtime.serving._capture import Exchange
from dockyard.runtime.serving._endpoint import Endpoint, State
from dockyard.runtime.serving._http import (
    JSON,
    ClientGone,
    MethodNotAllowed,
    Receive,
    RequestHeaders,
    Scope,
    Send,
    read_body,
    respond,
)
from dockyard.runtime.serving._inputs import Item, name_missing_value, raw_request
from dockyard.runtime.serving._mlflow import ERROR_CODES
from dockyard.runtime.serving._outputs import CONTENT_TYPES, Format, encode, negotiate
from dockyard.runtime.serving._shadow import copy_to_shadow
from dockyard.runtime.serving._variant import Variant

__all__ = ["DataPlane"]

_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}").fullmatch
_OCTETS = b"application/octet-stream"
_HEALTH = frozenset({"/ping", "/health", "/v2/health/live", "/v2/health/ready"})


class _RequestIds:
    """Unique, cheap request ids: a random per-process prefix and a counter."""

    def __init__(self) -> None:
        import os

        self._prefix = os.urandom(4).hex().encode() + b"-"
        self._next = 0

    def __call__(self) -> bytes:
        self._next += 1
        return self._prefix + b"%x" % self._next


class DataPlane:
    """The ASGI app of one worker's public port.

    Args:
        endpoint: The live endpoint (its ``state`` is read once per request).
        access_log: Where request lines go; ``None`` disables the access log.
    """

    def __init__(self, endpoint: Endpoint, access_log: AccessLog | None) -> None:
        self.endpoint = endpoint
        self.metrics = endpoint.metrics
        self._log = access_log
        self._new_id = _RequestIds()
        version = dockyard_version()
        self._version = version.encode()
        self._server = orjson.dumps({"name": "dockyard", "version": version, "extensions": []})
        self._guard = BrowserGuard(endpoint.state.config.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch on the path; the inference routes first, health checks next."""
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        refused = self._guard.refusal(method, scope["headers"])
        if refused is not None:
            oip = path.startswith("/v2")
            await self._fail(scope, send, refused, None, oip=oip, aws=path.startswith(_aws.PREFIX))
            return
        keys = self.endpoint.state.keys
        if keys is not None and path not in _HEALTH:
            refusal = keys.refusal(scope["headers"])
            if refusal is not None:
                oip = path.startswith("/v2")
                aws = path.startswith(_aws.PREFIX)
                await self._fail(scope, send, Unauthenticated(refusal), None, oip=oip, aws=aws)
                return
        if path == "/invocations":
            if method == "POST":
                await self._infer(scope, receive, send, None, None)
            else:
                await self._fail(scope, send, MethodNotAllowed("use POST /invocations"), None)
        elif path.startswith("/v2"):
            await self._v2(scope, receive, send, path, method)
        elif path in ("/ping", "/health"):
            await self._health(send, b"{}")
        elif path == "/version":
            await self._reply(send, 200, self._version, b"text/plain; charset=utf-8")
        elif path.startswith(_aws.PREFIX):
            await self._invoke_endpoint(scope, receive, send, path, method)
        else:
            await self._fail(scope, send, NotFound(f"no route {path}"), None)

    async def _invoke_endpoint(
        self, scope: Scope, receive: Receive, send: Send, path: str, method: str
    ) -> None:
        """SageMaker Runtime's ``InvokeEndpoint`` (:mod:`._aws`)."""
        name = _aws.endpoint_of(path)
        served = self.endpoint.state.config.endpoint
        if name is None:
            lacking = _aws.unsupported_operation(path)
            error = NotFound(f"no route {path}") if lacking is None else InvalidArgument(lacking)
            await self._fail(scope, send, error, None, aws=True)
        elif method != "POST":
            await self._fail(scope, send, MethodNotAllowed(f"use POST {path}"), None, aws=True)
        elif name != served:
            error = NotFound(
                f"Endpoint {name} not found: this port serves endpoint {served}",
                field="EndpointName",
            )
            await self._fail(scope, send, error, None, aws=True)
        else:
            unsupported = _aws.unsupported(scope["headers"])
            if unsupported is not None:
                await self._fail(scope, send, InvalidArgument(unsupported), None, aws=True)
                return
            await self._infer(scope, receive, send, None, None, aws=True)

    async def _reply(
        self,
        send: Send,
        status: int,
        body: bytes,
        content_type: bytes,
        variant: Variant | None = None,
    ) -> None:
        """A non-inference answer, with a request id like every other (and its variant, if any)."""
        extra = [(b"x-request-id", self._new_id())]
        if variant is not None:
            extra.append(variant.header)
        await respond(send, status, body, content_type, extra)

    async def _health(self, send: Send, body: bytes) -> None:
        if self.endpoint.draining:
            await self._reply(send, 503, b'{"status":"draining"}', JSON)
        else:
            await self._reply(send, 200, body, JSON)

    async def _v2(self, scope: Scope, receive: Receive, send: Send, path: str, method: str) -> None:
        state = self.endpoint.state
        if path in ("/v2", "/v2/"):
            await self._reply(send, 200, self._server, JSON)
            return
        if path == "/v2/health/live":
            await self._reply(send, 200, b'{"live":true}', JSON)
            return
        if path == "/v2/health/ready":
            await self._health(send, b'{"ready":true}')
            return
        target = _oip.route(path)
        if target is None:
            await self._fail(scope, send, NotFound(f"no route {path}"), None, oip=True)
            return
        try:
            pinned = self._resolve(state, target)
        except NotFound as exc:
            await self._fail(scope, send, exc, None, oip=True)
            return
        if target.action == "infer":
            if method != "POST":
                error = MethodNotAllowed(f"use POST {path}")
                await self._fail(scope, send, error, None, oip=True)
                return
            await self._infer(scope, receive, send, target, pinned)
        elif target.action == "ready":
            ready = orjson.dumps({"name": target.name, "ready": True})
            await self._reply(send, 200, ready, JSON, pinned)
        else:
            variant = pinned or max(state.routes.production, key=lambda v: v.config.weight)
            meta = _oip.model_metadata(
                target.name,
                # The endpoint's model has the variants as versions; a variant, only itself.
                state.routes.names if target.name == state.config.endpoint else [target.name],
                variant.model.metadata.flavor,
                variant.codec,
                variant.signature,
            )
            await self._reply(send, 200, orjson.dumps(meta), JSON, pinned)

    def _resolve(self, state: State, target: _oip.Route) -> Variant | None:
        routes = state.routes
        known = [state.config.endpoint, *routes.names]
        if target.name == state.config.endpoint:
            name = target.version
        elif target.name in routes.by_name:
            if target.version not in (None, target.name):  # a variant's one version is itself
                raise _oip.no_version(target.name, target.version, [target.name])
            name = target.name
        else:
            raise _oip.not_found(target.name, known)
        if name is None:
            return None
        variant = routes.by_name.get(name)
        if variant is None:
            raise _oip.no_version(target.name, name, routes.names)
        return variant

    async def _infer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        oip: _oip.Route | None,
        pinned: Variant | None,
        *,
        aws: bool = False,
    ) -> None:
        started = perf_counter()
        headers = RequestHeaders(scope["headers"])
        given = headers.request_id
        request_id = given if given is not None and _VALID_ID(given) else self._new_id()
        endpoint = self.endpoint
        state = endpoint.state
        variant: Variant | None = None
        body: bytes | None = None
        parsed: Any = None
        item: Item | None = None
        status = 200
        answer = b""
        content_type = JSON
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id)]
        code: str | None = None
        fmt_out: Format = "json"
        aws_error: tuple[int, bytes, list[tuple[bytes, bytes]]] | None = None
        endpoint.arriving += 1
        arriving = True
        try:
            if headers.custom_attributes is not None:
                headers.check()
            variant = pinned or state.routes.choose(headers.target_variant)
            variant.active += 1
            variant.stats.in_flight += 1
            extra.append(variant.header)
            remaining = state.timeout_s
            body = await read_body(receive, headers.content_length, state.max_body, remaining)
            if oip is None and variant.invoke is not None:
                # The model's own inference handlers read the body (and the Accept header).
                item = Item(None, raw_request(body, scope["headers"]), 1)
            elif oip is None:
                parsed = fmt_in, value = _sagemaker.parse(body, headers.content_type)
                fmt_out = negotiate(headers.accept, fmt_in)
                item = _sagemaker.decode(fmt_in, value, variant.codec)
            else:
                parsed = _oip.parse(body, headers.inference_header_length)
                item = _oip.decode(parsed, variant.codec, variant.signature)
            if item.rows == 0:
                # Every model would fail on it (a 500 naming the model's own complaint).
                raise InvalidArgument("the input has no rows: send at least one row to score")
            endpoint.arriving -= 1
            arriving = False
            remaining = state.timeout_s - (perf_counter() - started)
            predictions = await _predict(variant, item, remaining, state.timeout_s)
            if type(predictions) is Invoked:
                answer = predictions.body
                content_type = predictions.content_type.encode("latin-1")
                if predictions.custom_attributes is not None:
                    attributes = predictions.custom_attributes.encode("latin-1")
                    extra.append((b"x-amzn-sagemaker-custom-attributes", attributes))
            elif oip is None:
                answer = encode(predictions, fmt_out)
                content_type = CONTENT_TYPES[fmt_out]
            else:
                answer, header_length = _oip.encode(
                    parsed, oip.name, variant.name, predictions, variant.output_name
                )
                if header_length is not None:
                    content_type = _OCTETS
                    extra.append((b"inference-header-content-length", header_length))
        except ClientGone:
            status, code = 499, "client_gone"
        except (DockyardError, TimeoutError) as exc:
            error = exc if isinstance(exc, DockyardError) else _deadline(state.timeout_s)
            if isinstance(error, InputRejected) and item is not None and variant is not None:
                csv = oip is None and parsed is not None and parsed[0] == "csv"
                csv_body = body if csv else None
                error = name_missing_value(error, item, csv_body, variant.codec.names)
            status, code = error.status_code, error.code
            answer = _error_body(error, request_id, oip is not None)
            if aws:
                # Once the body is in, an error is the model's answer (SageMaker's ModelError);
                # before, the runtime's own (an unknown variant, a body over the limit).
                model = body is not None and variant is not None and status not in (429, 503)
                aws_error = (
                    _aws.model_error(status, answer, variant.name, request_id)
                    if model and variant is not None
                    else _aws.error(error, request_id)
                )
        except Exception:
            status, code = 500, "internal"
            _report(request_id)
            answer = _error_body(None, request_id, oip is not None)
            if aws:
                aws_error = _aws.error(None, request_id)
        finally:
            if arriving:
                endpoint.arriving -= 1
        sent = status
        if aws:
            if aws_error is not None:
                sent, answer, more = aws_error
                content_type = _aws.JSON
                extra.extend(more)
            elif variant is not None:
                extra.append((b"x-amzn-invoked-production-variant", variant.header[1]))
                extra.append((b"x-amzn-requestid", request_id))
        if status != 499:
            await respond(send, sent, answer, content_type, extra)
        seconds = perf_counter() - started
        stats = variant.stats if variant is not None else self.metrics.unrouted
        stats.record(status, seconds, code)
        if variant is not None:
            stats.in_flight -= 1
            variant.active -= 1
        if self._log is not None:
            name = variant.name if variant is not None else ""
            self._log.record(request_id, name, scope["method"], scope["path"], status, seconds)
        if body is None or variant is None:
            return
        shadow = state.routes.sample_shadow() if state.routes.shadow is not None else None
        capture = state.capture
        if capture is not None and (shadow is not None or random() < state.capture_fraction):
            capture.put(
                Exchange(
                    request_id,
                    time.time(),
                    variant.name,
                    "production",
                    status,
                    seconds * 1000,
                    headers.content_type if state.capture_input else None,
                    body if state.capture_input else None,
                    content_type if state.capture_output else None,
                    answer if state.capture_output else None,
                )
            )
        if shadow is not None:
            copy_to_shadow(
                self.metrics, state, shadow, request_id, body, headers, oip is not None, parsed
            )

    async def _fail(
        self,
        scope: Scope,
        send: Send,
        error: DockyardError,
        request_id: bytes | None,
        *,
        oip: bool = False,
        aws: bool = False,
    ) -> None:
        request_id = request_id or self._new_id()
        body = _error_body(error, request_id, oip)
        extra = [(b"x-request-id", request_id)]
        if isinstance(error, MethodNotAllowed):
            extra.append((b"allow", b"POST"))
        elif isinstance(error, Unauthenticated):
            extra.append((b"www-authenticate", b"Bearer"))
        content_type = JSON
        if aws:
            _, body, more = _aws.error(error, request_id)
            extra.extend(more)
            content_type = _aws.JSON
        await respond(send, error.status_code, body, content_type, extra)
        self.metrics.unrouted.record(error.status_code, 0.0, error.code)
        if self._log is not None and scope["path"] not in _HEALTH:
            self._log.record(request_id, "", scope["method"], scope["path"], error.status_code, 0.0)


async def _predict(variant: Variant, item: Item, remaining: float, timeout_s: float) -> Any:
    future = variant.batcher.submit(item)
    if remaining <= 0:
        raise _deadline(timeout_s)
    loop = asyncio.get_running_loop()
    timer = loop.call_later(remaining, _expire, future, timeout_s)
    try:
        return await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[Any], timeout_s: float) -> None:
    if not future.done():
        future.set_exception(_deadline(timeout_s))


def _deadline(timeout_s: float) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"the request did not finish within the endpoint's {timeout_s:g} s timeout",
        details={"timeout_s": timeout_s},
    )


def _error_body(error: DockyardError | None, request_id: bytes, oip: bool) -> bytes:
    rid = request_id.decode("latin-1")
    if error is None:
        message = f"internal error while answering request {rid}; the worker log has details"
        body: dict[str, Any] = {"code": "internal", "message": message}
        status = 500
    else:
        body = error.to_dict()
        status = error.status_code
    body["request_id"] = rid
    if oip:
        body = {"error": body["message"], **body}
    else:
        body["error_code"] = ERROR_CODES.get(status, "INTERNAL_ERROR")
    return orjson.dumps(body)


def _report(request_id: bytes) -> None:
    line = {"event": "error", "request_id": request_id.decode("latin-1")}
    print(f"{orjson.dumps(line).decode()}\n{traceback.format_exc()}", file=sys.stderr, flush=True)
