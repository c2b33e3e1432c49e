"""The one authentication layer: every request, on every route, passes through here first.

In order, for each HTTP request:

1. **Host allowlist.** A request whose ``Host`` is not one this server answers to is refused
   (400): a web page cannot reach a loopback server through DNS rebinding. Requests on the
   local listener of a server serving HTTPS (``127.0.0.1:DOCKYARD_LOCAL_PORT``, where its job
   runners reach it) may also name a loopback host. Those requests pass every step below
   like any other: the listener differs only in speaking plain HTTP.
2. **Cross-site browsers.** A state change (POST, PUT, PATCH, DELETE) that a browser marks as
   coming from another site (``Origin`` not this server's and not in
   ``cors_allowed_origins``, or ``Sec-Fetch-Site: cross-site``) is refused (403), and so is a
   POST sent as a form or ``text/plain`` (415): a POST with those bodies is the only state
   change a page may send cross-site without the browser asking first (PUT, PATCH and DELETE
   always ask), so no page can forge a JSON call. Triggers' hooks take such bodies (SNS posts
   ``text/plain``, GitHub may post a form): their secret, which no page knows, authenticates
   them, never a cookie. CORS preflights are answered for allowed origins only.
3. **Who is asking.** ``Authorization: Bearer <token>`` (Dockyard tokens; MLflow's
   ``MLFLOW_TRACKING_TOKEN``), ``Authorization: Basic`` (MLflow's ``MLFLOW_TRACKING_USERNAME`` /
   ``PASSWORD``), a SigV4-signed request (boto3, the SageMaker SDK), or the browser's session
   cookie, whose state changes must also carry ``X-CSRF-Token``. A signed request whose key id
   is a Dockyard access key (``DYAK...``) has its signature checked against the key's secret,
   its body included (:mod:`dockyard.server._signed`); any other signed request is identified
   by its session token (``X-Amz-Security-Token``, from ``AWS_SESSION_TOKEN``), a Dockyard
   token whose signature is not checked (the server keeps only tokens' digests, and an HMAC
   needs the secret it was made with), so that token is a bearer credential like any other
   (send it over TLS) and its access key id and secret may be anything. The embedded server
   inside the SDK's own process is its owner's, and so is a bearer of the key in
   ``DOCKYARD_LOCAL_KEY_FILE`` (the SDK starts its local server with one in the home, which
   the SDK and CLI send to it: whoever can read the home can read its database already).
   With no credentials, the request is anonymous where sign-in is not required, and 401
   where it is (only ``GET /healthz``, signing in, the web UI's static files, triggers' hooks
   and the confirmation link of subscriptions, which their secrets and tokens authenticate,
   are open then).
4. The :class:`~dockyard.server.auth.Actor` goes into ``scope["state"]["actor"]``; services receive
it.
   Refused state changes (401, 403) are recorded in the event log, at most a few per second
   per address so a flood cannot flood the log. With ``access_log`` on, every request is
   logged (address, actor, method and path, status, time) to the ``dockyard.access`` logger.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hmac
import logging
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape as xml_escape

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.errors import DockyardError, InvalidArgument, PermissionDenied, Unauthenticated
from dockyard.server._asgi import media_type
from dockyard.server._signed import access_key_of, signed_actor
from dockyard.server.actor import Actor, ActorKind
from dockyard.server.auth import AuthService, SignatureRejected, secret_digest
from dockyard.server.events import EventLog
from dockyard.settings import Settings

__all__ = [
    "LOCAL_USER",
    "SESSION_COOKIE",
    "AuthMiddleware",
    "Credentials",
    "actor_of",
    "send_error",
]

log = logging.getLogger("dockyard.server.auth")
access = logging.getLogger("dockyard.access")

#: ASGI scope extension the in-process transport sets: the OS user who owns the embedded server.
LOCAL_USER: Final = "dockyard.local_user"
SESSION_COOKIE: Final = "dockyard_session"
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SIMPLE_TYPES: Final = (
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
)
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_SESSION_STATE: Final = "/api/v1/session"
# Open without credentials even where sign-in is required.
_PUBLIC: Final = frozenset(
    {
        ("GET", "/healthz"),
        ("HEAD", "/healthz"),
        ("POST", "/api/v1/session"),
        ("GET", _SESSION_STATE),  # whether one is signed in: the sign-in page asks it
        ("GET", "/"),  # the web UI's page and files: no data, and its sign-in form
        ("HEAD", "/"),
        # The link a subscription's confirmation message carries: its single-use token, which
        # only the endpoint's owner received, is the credential (dockyard.server.notifications).
        ("GET", "/api/v1/confirm-subscription"),
        ("POST", "/api/v1/confirm-subscription"),
    }
)
_PUBLIC_PREFIX: Final = "/ui/"
# Posted by git hosts and object stores, which send no token: the trigger's secret
# authenticates them (dockyard.server.triggers: a signature or a token header, checked there).
_HOOK_PREFIX: Final = "/api/v1/hooks/triggers/"
_MLFLOW_PATHS: Final = ("/api/2.0/", "/ajax-api/2.0/", "/api/3.0/", "/ajax-api/3.0/")
_DENIED_PER_S: Final = 5.0
_NO_STORE: Final = (b"cache-control", b"no-store")
_SIGV4: Final = "AWS4-"
_SIGV4_HINT: Final = (
    "sign with a Dockyard access key (AWS_ACCESS_KEY_ID=DYAK..., AWS_SECRET_ACCESS_KEY; "
    "'dockyard access-keys create'), or carry a Dockyard token as the session token "
    "(AWS_SESSION_TOKEN=dyt_...)"
)


def actor_of(scope: Scope) -> Actor:
    """The actor this layer put in ``scope`` (routes reach it through a dependency)."""
    actor: Actor = scope["state"]["actor"]
    return actor


def _uncached(send: Send) -> Send:
    """``send``, adding ``Cache-Control: no-store`` to an answer that says nothing of caching.

    Answers are for the credential that asked (a decrypted parameter, a new token's secret,
    a session's CSRF token, an artifact): no browser cache should keep them for whoever uses
    the browser after a sign-out, nor a shared proxy for anyone. The web UI's files and the
    API docs say how they may be cached, and keep that."""

    async def send_uncached(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if not any(name.lower() == b"cache-control" for name, _ in headers):
                message = {**message, "headers": [*headers, _NO_STORE]}
        await send(message)

    return send_uncached


def _public(method: str, path: str) -> bool:
    if (method, path) in _PUBLIC:
        return True
    if method == "POST" and path.startswith(_HOOK_PREFIX):
        return True
    return method in ("GET", "HEAD") and path.startswith(_PUBLIC_PREFIX)


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


# MLflow's error codes for what this layer refuses (MLflow has no 413: INVALID_PARAMETER_VALUE).
_MLFLOW_CODES: Final = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# AWS's JSON protocol answers a refusal with 400 and names it in this header.
_AWS_REFUSALS: Final = frozenset({b"AccessDeniedException", b"UnrecognizedClientException"})
_DENIAL_BODY: Final = 4096  # of a refusal's body, enough for its message


def _refusal(status: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a response refuses the request (401, 403, or AWS's 400 with a denial's type)."""
    if status in (401, 403):
        return True
    return status == 400 and any(
        name.lower() == b"x-amzn-errortype" and value in _AWS_REFUSALS for name, value in headers
    )


def _denial_message(body: bytes) -> str:
    """The message of a refusal's JSON body, in Dockyard's, MLflow's or AWS's shape."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    error = parsed.get("error")
    found = error.get("message") if isinstance(error, dict) else parsed.get("message")
    return found if isinstance(found, str) else ""


class _DeniedLog:
    """Records refused state changes, a few per second per address at most."""

    def __init__(self, events: EventLog) -> None:
        self._events = events
        self._budget: dict[str, tuple[float, float]] = {}
        self.dropped = 0

    def record(self, actor: Actor, method: str, path: str, status: int, message: str) -> None:
        now = time.monotonic()
        tokens, seen = self._budget.get(actor.source, (_DENIED_PER_S, now))
        tokens = min(_DENIED_PER_S, tokens + (now - seen) * _DENIED_PER_S)
        if tokens < 1:
            self.dropped += 1
            self._budget[actor.source] = (tokens, now)
            return
        if len(self._budget) > 10_000:
            self._budget.clear()
        self._budget[actor.source] = (tokens - 1, now)
        try:
            self._events.record(
                actor,
                "auth.denied",
                "route",
                f"{method} {path}"[:256],
                scope="auth",
                outcome="denied",
                body={"status": status, "message": message[:300]},
            )
        except DockyardError:
            log.warning("could not record a refused %s %s", method, path)


class Credentials:
    """Credentials to actors: the bearer token, basic credentials, session token of a signed
    request, or session cookie a request carries (see the module docstring, step 3).

    Args:
        auth: Checks credentials against the database (and its short caches).
    """

    def __init__(self, auth: AuthService, local_key: bytes | None = None) -> None:
        self.auth = auth
        #: ``Authorization`` that signs in as this machine's user (the SDK's local server's
        #: key, see :func:`read_local_key`); None: no such key.
        self._local = b"Bearer " + local_key if local_key is not None else None
        self._local_user = getpass.getuser() if local_key is not None else ""

    async def identify(self, scope: Scope, headers: _Headers) -> Actor:
        """Who the request's credentials stand for (anonymous without any, where allowed)."""
        method: str = scope["method"]
        source = _client(scope)
        if method == "POST" and scope["path"].startswith(_HOOK_PREFIX):
            # The trigger's secret authenticates a hook, checked by the service; a Basic
            # header there carries that secret (SNS), not an account's password.
            return Actor.anonymous(source)
        authorization = headers.get(b"authorization")
        if authorization is not None and authorization.startswith(_SIGV4):
            return await self._from_signed(headers, source)
        if (
            authorization is not None
            and self._local is not None
            and hmac.compare_digest(authorization.encode("latin-1", "replace"), self._local)
        ):
            return Actor.local(self._local_user).at(source)
        if authorization is not None:
            # A credential seen lately is answered here; checking a new one reads the database
            # (and runs scrypt for a password), which must not stall the event loop.
            cached = self._cached(authorization, source)
            if cached is not None:
                return cached.at(source)
            return await run_in_threadpool(self._from_authorization, authorization, source)
        cookie = headers.cookie(SESSION_COOKIE)
        if cookie is not None:
            try:
                if self.auth.sessions_read_inline:
                    actor, csrf_hash = self.auth.by_session(cookie)
                else:
                    actor, csrf_hash = await run_in_threadpool(self.auth.by_session, cookie)
            except Unauthenticated:
                # An ended session asking whether it is signed in is told it is not.
                if (method, scope["path"]) != ("GET", _SESSION_STATE):
                    raise
                return Actor.anonymous(source)
            if method in _UNSAFE:
                sent = headers.get(b"x-csrf-token") or ""
                if not hmac.compare_digest(secret_digest(sent), csrf_hash):
                    raise PermissionDenied(
                        "a change made with the session cookie must carry its X-CSRF-Token"
                    )
            return actor.at(source)
        if self.auth.required and not _public(method, scope["path"]):
            raise Unauthenticated(
                "sign in: send 'Authorization: Bearer <token>' (DOCKYARD_TOKEN, "
                "MLFLOW_TRACKING_TOKEN) or basic auth (MLFLOW_TRACKING_USERNAME/PASSWORD)"
            )
        return Actor.anonymous(source)

    async def _from_signed(self, headers: _Headers, source: str) -> Actor:
        """A SigV4-signed request (boto3): its session token is the credential."""
        token = (headers.get(b"x-amz-security-token") or "").strip()
        if not token:
            if self.auth.required:
                raise Unauthenticated(_SIGV4_HINT)
            return Actor.anonymous(source)
        cached = self.auth.cached_token(token)
        if cached is not None:
            return cached.at(source)
        try:
            actor = await run_in_threadpool(self.auth.by_token, token)
        except Unauthenticated as exc:
            raise Unauthenticated(f"{exc.message}: {_SIGV4_HINT}") from None
        return actor.at(source)

    def _cached(self, value: str, source: str) -> Actor | None:
        kind, _, credential = value.strip().partition(" ")
        kind = kind.lower()
        if kind == "bearer":
            return self.auth.cached_token(credential.strip())
        if kind == "basic":
            try:
                decoded = base64.b64decode(credential.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = decoded.partition(":")
            return self.auth.cached_password(user, password, source) if sep else None
        return None

    def _from_authorization(self, value: str, source: str) -> Actor:
        kind, _, credential = value.strip().partition(" ")
        kind = kind.lower()
        credential = credential.strip()
        if kind == "bearer" and credential:
            return self.auth.by_token(credential).at(source)
        if kind == "basic" and credential:
            try:
                decoded = base64.b64decode(credential, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise Unauthenticated("malformed basic credentials") from exc
            user, sep, password = decoded.partition(":")
            if not sep:
                raise Unauthenticated("malformed basic credentials")
            return self.auth.by_password(user, password, source).at(source)
        raise Unauthenticated("unsupported Authorization header: use Bearer or Basic")

    async def again(self, scope: Scope, actor: Actor) -> Actor:
        """Who ``actor``'s request's credentials stand for now, for an answer that lasts (an
        event stream): Unauthenticated or PermissionDenied once they sign no one in (a revoked
        token or access key, an ended session, a deleted or disabled account).

        A request an access key signed is not verified again (its signature covered it once):
        the key itself is looked up again.
        """
        if actor.kind in (ActorKind.LOCAL, ActorKind.SYSTEM):
            return actor
        headers = _Headers(scope["headers"])
        authorization = headers.get(b"authorization")
        if authorization is not None and authorization.startswith(_SIGV4):
            signed = access_key_of(authorization)
            if signed is not None:
                now, _ = await run_in_threadpool(self.auth.access_keys.signer, signed.key_id)
                return now.at(actor.source)
        return await self.identify(scope, headers)


class AuthMiddleware:
    """Host and cross-site checks, then authentication; see the module docstring.

    Args:
        app: The application behind this layer.
        auth: Turns credentials into actors.
        events: Where refused state changes are recorded.
        settings: ``allowed_hosts``, ``cors_allowed_origins``, ``host``.
        local_key: The key that signs in as this machine's user (:func:`read_local_key`).
    """

    def __init__(
        self,
        app: ASGIApp,
        auth: AuthService,
        events: EventLog,
        settings: Settings,
        local_key: bytes | None = None,
    ):
        self.app = app
        self.auth = auth
        self.credentials = Credentials(auth, local_key)
        self.denied = _DeniedLog(events)
        self.access_log = settings.access_log
        self.max_body = settings.max_request_mb * 1024 * 1024
        self.origins = {o.rstrip("/").lower() for o in settings.cors_allowed_origins}
        configured = settings.allowed_hosts
        self.any_host = configured is not None and "*" in configured
        self.hosts = {_host_name(h) for h in configured or ()} or set(_LOOPBACK)
        bound = _host_name(settings.host)
        self.loopback_only = bound in _LOOPBACK
        if configured is None and bound not in ("0.0.0.0", "::", ""):
            self.hosts.add(bound)
        # Bound beyond loopback with nothing configured: any Host once sign-in protects the
        # server (a rebinding page has no credentials); loopback names until then.
        self.open_hosts_with_auth = configured is None and not self.loopback_only
        local = settings.resolved_local_port
        # The address the local listener's requests arrive at (ASGI's "server"), with TLS.
        self.local = ("127.0.0.1", local) if local is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            headers = _Headers(scope["headers"])
            actor, receive = await self._check(scope, headers, receive)
        except _Preflight as answer:
            await _send(send, answer.status, b"", answer.headers)
            return
        except DockyardError as exc:
            actor = Actor.anonymous(_client(scope))
            if scope["method"] in _UNSAFE and isinstance(exc, (Unauthenticated, PermissionDenied)):
                await run_in_threadpool(
                    self.denied.record,
                    actor,
                    scope["method"],
                    scope["path"],
                    exc.status_code,
                    exc.message,
                )
            await send_error(send, scope, exc)
            return
        scope.setdefault("state", {})["actor"] = actor
        cors = self._cors_headers(headers.get(b"origin"))
        if scope["method"] not in _UNSAFE and not cors and not self.access_log:
            await self.app(scope, receive, _uncached(send))
            return
        send = _uncached(send)
        started = time.perf_counter()
        status = 500
        denial: bytearray | None = None  # the body of a refusal, read for its message

        async def observe(message: Message) -> None:
            nonlocal status, denial
            if message["type"] == "http.response.start":
                if cors:
                    message = {**message, "headers": [*message.get("headers", []), *cors]}
                status = int(message["status"])
                if scope["method"] in _UNSAFE and _refusal(status, message.get("headers", ())):
                    denial = bytearray()
            elif denial is not None and message["type"] == "http.response.body":
                denial += message.get("body", b"")[: _DENIAL_BODY - len(denial)]
                if not message.get("more_body", False):
                    text = _denial_message(bytes(denial))
                    denial = None
                    await run_in_threadpool(
                        self.denied.record, actor, scope["method"], scope["path"], status, text
                    )
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            if self.access_log:
                access.info(
                    "%s %s %s %d %.1fms",
                    actor.source or "-",
                    actor.label,
                    f"{scope['method']} {scope['path']}",
                    status,
                    (time.perf_counter() - started) * 1000,
                )

    async def _check(
        self, scope: Scope, headers: _Headers, receive: Receive
    ) -> tuple[Actor, Receive]:
        """Who is asking, and how to read the body (read here when a signature covers it)."""
        local = scope.get("extensions", {}).get(LOCAL_USER)
        if local is not None:  # the embedded server in the SDK's own process
            return Actor.local(str(local)), receive
        self._check_request(scope, headers)
        authorization = headers.get(b"authorization")
        if authorization is not None and authorization.startswith(_SIGV4):
            signed = access_key_of(authorization)
            if signed is not None:
                actor, receive = await signed_actor(
                    self.auth, signed, scope, receive, self.max_body
                )
                return actor.at(_client(scope)), receive
        return await self.credentials.identify(scope, headers), receive

    def _check_request(self, scope: Scope, headers: _Headers) -> None:
        """Host allowlist, CORS preflights and cross-site state changes, for every request."""
        method: str = scope["method"]
        self._check_host(scope, headers)
        origin = headers.get(b"origin")
        if (
            method == "OPTIONS"
            and origin is not None
            and headers.get(b"access-control-request-method")
        ):
            raise _Preflight(self._preflight(origin, headers))
        if method in _UNSAFE:
            self._check_cross_site(scope, headers, origin)

    def _check_host(self, scope: Scope, headers: _Headers) -> None:
        if self.any_host:
            return
        raw = headers.get(b"host")
        if raw is None:
            return  # HTTP/1.0 without Host cannot come from a browser
        host = _host_name(raw)
        if host in self.hosts or (self.open_hosts_with_auth and self.auth.required):
            return
        # The local listener is reached by loopback names whatever the public names are; a
        # rebinding page would send its own name, which this still refuses.
        if host in _LOOPBACK and self.local is not None and scope.get("server") == self.local:
            return
        raise InvalidArgument(
            f"this server does not answer to Host {raw[:100]!r}; add it to "
            "DOCKYARD_ALLOWED_HOSTS if it is a name of this server",
            field="Host",
        )

    def _check_cross_site(self, scope: Scope, headers: _Headers, origin: str | None) -> None:
        content_type = (headers.get(b"content-type") or "").split(";", 1)[0].strip().lower()
        # A signed request is no form: a page cannot add an Authorization header cross-site
        # without a preflight, which unknown origins fail. Models may well read text/plain.
        signed = (headers.get(b"authorization") or "").startswith(_SIGV4)
        # A hook is no cookie-authenticated change (its trigger's secret authenticates it), and
        # SNS posts text/plain, GitHub may post a form: bodies a page could forge, but not
        # with a secret it does not know.
        hook = scope["path"].startswith(_HOOK_PREFIX)
        simple = content_type.encode() in _SIMPLE_TYPES
        if scope["method"] == "POST" and simple and not signed and not hook:
            raise _UnsupportedType(
                f"state changes take JSON: send 'Content-Type: application/json', not "
                f"{content_type!r}"
            )
        fetch_site = headers.get(b"sec-fetch-site")
        if origin is not None and origin != "null":
            if (
                self._same_origin(scope, headers, origin)
                or origin.rstrip("/").lower() in self.origins
            ):
                return
            raise PermissionDenied(
                f"cross-site request from {origin[:100]!r} refused; allow the origin with "
                "DOCKYARD_CORS_ALLOWED_ORIGINS"
            )
        if origin == "null" or fetch_site == "cross-site":
            raise PermissionDenied("cross-site request refused")

    @staticmethod
    def _same_origin(scope: Scope, headers: _Headers, origin: str) -> bool:
        host = headers.get(b"host")
        if host is None:
            return False
        scheme = scope.get("scheme", "http")
        return origin.rstrip("/").lower() == f"{scheme}://{host}".lower()

    def _cors_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or origin.rstrip("/").lower() not in self.origins:
            return []
        return [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]

    def _preflight(self, origin: str, headers: _Headers) -> list[tuple[bytes, bytes]]:
        if origin.rstrip("/").lower() not in self.origins:
            raise PermissionDenied(
                f"cross-site request from {origin[:100]!r} refused; allow the origin with "
                "DOCKYARD_CORS_ALLOWED_ORIGINS"
            )
        requested = headers.get(b"access-control-request-headers") or ""
        return [
            *self._cors_headers(origin),
            (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, PATCH, DELETE"),
            (b"access-control-allow-headers", requested.encode()[:1000]),
            (b"access-control-max-age", b"600"),
        ]


class _Preflight(Exception):
    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = 204
        self.headers = headers


class _UnsupportedType(InvalidArgument):
    status_code = 415
    code = "unsupported_media_type"


class _Headers:
    """Request headers by lower-case name (the first of repeated ones), decoded as latin-1."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def get(self, name: bytes) -> str | None:
        for key, value in self._raw:
            if key == name:
                return value.decode("latin-1")
        return None

    def cookie(self, name: str) -> str | None:
        for key, value in self._raw:
            if key != b"cookie":
                continue
            for part in value.decode("latin-1").split(";"):
                k, sep, v = part.strip().partition("=")
                if sep and k == name:
                    return v
        return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, scope: Scope, error: DockyardError) -> None:
    """Answer ``error`` before any route ran, in the error shape the caller's client reads
    (AWS's XML or JSON, MLflow's, or Dockyard's)."""
    headers = [(b"content-type", b"application/json")]
    if error.status_code == 401:
        headers.append((b"www-authenticate", b'Bearer realm="dockyard"'))
    path: str = scope["path"]
    # boto3 reads AWS's error shape: SageMaker Runtime, and the AWS JSON protocol (POST /).
    aws_json = path == "/" and any(k == b"x-amz-target" for k, _ in scope.get("headers", ()))
    form = media_type(scope) == "application/x-www-form-urlencoded"
    if path == "/" and not aws_json and form:  # the AWS query protocol (SNS): XML
        kind = {401: "InvalidClientTokenId", 403: "AuthorizationError"}.get(
            error.status_code, "InvalidParameter"
        )
        if isinstance(error, SignatureRejected):
            kind = error.query_code
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type>'
            f"<Code>{kind}</Code><Message>{xml_escape(error.message)}</Message></Error>"
            "</ErrorResponse>"
        )
        await _send(send, error.status_code, xml.encode(), [(b"content-type", b"text/xml")])
        return
    if path.startswith("/endpoints/") or aws_json:
        kind = {401: "UnrecognizedClientException", 403: "AccessDeniedException"}.get(
            error.status_code, "ValidationError"
        )
        if isinstance(error, SignatureRejected):
            kind = error.json_code
        headers = [
            (
                b"content-type",
                b"application/x-amz-json-1.0" if aws_json else b"application/x-amz-json-1.1",
            ),
            (b"x-amzn-errortype", kind.encode()),
        ]
        body_bytes = orjson.dumps({"__type": kind, "message": error.message})
        await _send(send, error.status_code, body_bytes, headers)
        return
    if path.startswith(_MLFLOW_PATHS):  # MLflow clients read their own error shape
        code = _MLFLOW_CODES.get(
            error.status_code,
            "INVALID_PARAMETER_VALUE" if error.status_code < 500 else "INTERNAL_ERROR",
        )
        body: Any = {"error_code": code, "message": error.message}
    else:
        body = {"error": error.to_dict()}
    await _send(send, error.status_code, orjson.dumps(body), headers)


def read_local_key(path: Path | None) -> bytes | None:
    """The key in ``path`` (``DOCKYARD_LOCAL_KEY_FILE``), which signs in as this machine's user.

    Only this user may read or write the file: whoever can read it gets the local user's rights,
    as whoever can read the home's database has them already.

    Raises:
        InvalidArgument: The file cannot be read, is not this user's own, others may read or
            write it, or it holds no key of at least 32 characters.
    """
    if path is None:
        return None
    where = f"DOCKYARD_LOCAL_KEY_FILE {str(path)[:300]!r}"
    try:
        # Not blocking: a FIFO put there must not hang the server's start.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as file:
            info = os.fstat(fd)
            key = file.read(4097).strip() if stat.S_ISREG(info.st_mode) else b""
    except OSError as exc:
        raise InvalidArgument(
            f"{where} cannot be read: {exc.strerror}", field="local_key_file"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgument(f"{where} is not a regular file", field="local_key_file")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise InvalidArgument(
            f"{where} must be this user's own and private (chmod 600)", field="local_key_file"
        )
    if not 32 <= len(key) <= 4096 or not all(c in _KEY_CHARACTERS for c in key):
        raise InvalidArgument(
            f"{where} holds no key: 32 to 4096 letters, digits, '-' or '_'", field="local_key_file"
        )
    return key


_KEY_CHARACTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
