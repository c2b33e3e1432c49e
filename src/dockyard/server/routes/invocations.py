"""SageMaker Runtime's ``InvokeEndpoint`` on the server's port, passed on to the endpoint.

``POST /endpoints/{EndpointName}/invocations`` is what boto3's ``sagemaker-runtime`` client
and the SageMaker SDK send; pointing them at the server (``endpoint_url``, or
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``) reaches every endpoint through one URL. The server
*proxies* to the endpoint's workers, which answer the same path on their own port
(:mod:`dockyard.api.serving.aws`): it cannot redirect, because botocore does not follow a
redirect for this operation (it raises on the 307). The worker's answer (status, body,
``Content-Type``, ``x-Amzn-Invoked-Production-Variant``, custom attributes, AWS-shaped errors)
is passed back unchanged. A raw HTTP/1.1 client (:mod:`dockyard.server.endpoints._upstream`)
keeps connections to the workers open.

Where the workers each have an address of their own (replicas on a Ray cluster's nodes,
:mod:`dockyard.runtime.serving._raylauncher`), this route sends to the replicas in turn
through the router the endpoint's own port uses too (:mod:`dockyard.server.endpoints._router`):
a replica that cannot be reached (its node was lost) is set aside for :data:`DOWN_S` seconds
while the request is sent on to the next one, so a lost node costs callers no failed request.

Who may: the server's one authentication layer identifies the caller (a SigV4 signature made
with a Dockyard access key, checked there with the body it covers, or a Dockyard token as the
session token; see :mod:`dockyard.server._auth`), and invoking needs ``read`` on the endpoint.
Signatures are checked here, not by the workers, which hold only digests of the endpoint's own
API keys: those are for callers of its own port, and the server passes requests on with a key
of its own (:meth:`EndpointService.proxy_key`).

The hot path stays light: a raw ASGI route (no request model, no thread hop), the endpoint's
address and the caller's permission are remembered for :data:`CACHE_S` seconds (a grant that
is revoked, or an endpoint moved, takes effect within that), and connections to the workers
stay open between requests.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dockyard.api.endpoints import EndpointStatus
from dockyard.api.serving import aws as _aws
from dockyard.errors import DockyardError, InvalidArgument, Unavailable
from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.endpoints import DOWN_S, Router, UpstreamError

__all__ = ["CACHE_S", "DOWN_S", "route"]

#: How long an endpoint's address and a caller's permission on it are reused.
CACHE_S = 2.0
_PATH = "/endpoints/{name}/invocations"
# What the worker reads of the caller's request (and nothing else: not the caller's token).
_FORWARDED = frozenset(
    {b"content-type", b"accept", b"x-request-id", b"x-amzn-sagemaker-target-variant"}
)
_AWS_PREFIX = b"x-amzn-sagemaker-"
_RETURNED = frozenset({b"content-type", b"x-request-id", b"x-dockyard-variant"})
_MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class _Target:
    #: Where requests go: the endpoint's port, or each of its replicas.
    addresses: tuple[tuple[str, int], ...]
    path: str
    key: bytes
    timeout_s: float
    until: float


class InvokeEndpoint:
    """The ASGI app of the route (one per server app)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._targets: dict[tuple[Any, ...], _Target] = {}
        self._router = Router()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name: str = scope["path_params"]["name"]
        request_id = _request_id(scope["headers"])
        try:
            target = await self._target(actor_of(scope), name)
            body = await _body(receive)
            status, headers, answer = await self._forward(target, scope["headers"], body, name)
        except DockyardError as exc:
            status, answer, more = _aws.error(exc, request_id)
            headers = [(b"content-type", _aws.JSON), *more]
        headers.append((b"content-length", b"%d" % len(answer)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _target(self, actor: Actor, name: str) -> _Target:
        key = (actor.kind, actor.name, actor.user_id, actor.read_only, actor.job, name)
        found = self._targets.get(key)
        if found is not None and found.until > time.monotonic():
            return found
        target = await run_in_threadpool(self._resolve, actor, name)
        if len(self._targets) >= _MAX_CACHED:
            self._targets.clear()
        self._targets[key] = target
        return target

    def _resolve(self, actor: Actor, name: str) -> _Target:
        """The endpoint's address, once the caller may read it (NotFound, PermissionDenied)."""
        endpoints = self._services.endpoints
        endpoint = endpoints.get(actor, name)
        if endpoint.status is EndpointStatus.FAILED:
            # No worker accepts on its port: a request would wait out its timeout for nothing.
            reason = f": {endpoint.failure_reason}" if endpoint.failure_reason else ""
            raise InvalidArgument(
                f"endpoint {name} is Failed, nothing serves it{reason}", field="EndpointName"
            )
        where = urlsplit(endpoint.url)
        replicas = endpoints.replicas(name)
        return _Target(
            addresses=tuple(replicas) or ((where.hostname or "127.0.0.1", where.port or 80),),
            path=f"/endpoints/{quote(name, safe='')}/invocations",
            key=endpoints.proxy_key(name).encode(),
            timeout_s=endpoint.config.request_timeout_s,
            until=time.monotonic() + CACHE_S,
        )

    async def _forward(
        self, target: _Target, raw: list[tuple[bytes, bytes]], body: bytes, name: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [(k, v) for k, v in raw if k in _FORWARDED or k.startswith(_AWS_PREFIX)]
        headers.append((b"x-api-key", target.key))
        try:
            status, answered, content = await self._router.send(
                target.addresses,
                "POST",
                target.path,
                headers,
                body,
                target.timeout_s + 5.0,
                failed=self._targets.clear,  # the endpoint may have moved or gone: look again
            )
        except UpstreamError as exc:
            raise Unavailable(
                f"endpoint {name} is not answering ({exc}); it may be starting, updating "
                "or stopped: see its status"
            ) from None
        kept = [
            (k, v) for k, v in answered if k in _RETURNED or k.startswith((b"x-amzn-", b"x-amz-"))
        ]
        return status, kept, content


def _request_id(raw: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in raw:
        if name == b"x-request-id":
            return value[:128]
    return os.urandom(8).hex().encode()


async def _body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def route(services: Services) -> Route:
    """The route to add to the app (its permission rule: ``read`` on the endpoint)."""
    return Route(_PATH, InvokeEndpoint(services), methods=["POST"], name="invoke_endpoint")
