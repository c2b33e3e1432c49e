"""The one HTTP client of Dockyard's SDK, CLI and runtime processes.

It knows URLs and JSON, nothing of the rules: those live in the server. One send path::

    request(method, path, json=...)        encode JSON, decode the answer
      -> send(method, path, body=...)      retry loop: backoff on transient failures
        -> transport.send(...)             one exchange (httpx, or plain sockets)
      -> _error(response)                  the same dockyard.errors class the server raised

Transient failures (connection refused or reset, 429, 502, 503, 504) are retried with jittered
exponential backoff for ``retry_for`` seconds, for requests that are safe to repeat: GET, PUT,
DELETE and HEAD by default, and any request the server de-duplicates (an idempotency key, an
offset) when the caller says ``retry=True``. Importing this module costs the standard library
and orjson; httpx loads only when an httpx transport is made.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import orjson

from dockyard import __version__
from dockyard.client.http._sockets import SocketTransport, proxy_configured
from dockyard.client.http._transport import (
    Body,
    Response,
    Streamed,
    Transport,
    TransportFailure,
)
from dockyard.client.http.routes import Call
from dockyard.errors import (
    DockyardError,
    InvalidArgument,
    NotFound,
    Unavailable,
    error_class_for_status,
    error_from_dict,
)

if TYPE_CHECKING:
    import httpx

    from dockyard.client.http._httpx import HttpxTransport

__all__ = ["Client"]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_SAFE_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_MAX_DELAY_S = 5.0
#: A failure still being retried this long into a window this long is said once (stderr).
_TELL_AFTER_S, _TELL_WINDOW_S = 2.0, 10.0
_log = logging.getLogger(__name__)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:  # orjson's: text that is not UTF-8, an integer past 64 bits...
        raise InvalidArgument(f"the request cannot be sent as JSON: {exc}") from None


class Client:
    """A Dockyard API client.

    Args:
        base_url: The server's URL (``http://127.0.0.1:5050``).
        transport: A :class:`~dockyard.client.http.Transport`, or an httpx transport to send
            through (the embedded default passes an in-process one). None chooses for the
            network, the one place that does: the standard library's sockets (quick to import,
            ~70 µs of CPU a request against httpx's ~440), or httpx when the environment names
            a proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``), which it honours with
            ``NO_PROXY``. Both trust the same authorities (``tls_context``).
        timeout: Seconds to wait for one response.
        retry_for: Seconds during which transient failures are retried before giving up.
        token: An API token, sent as ``Authorization: Bearer`` with every request.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: Transport | httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry_for: float = 120.0,
        token: str | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Refused here, not retried as a failure to connect: it never will.
            raise InvalidArgument(
                f"the server URL {base_url[:200]!r} is not an http(s) URL: write it as "
                "http://host:port (DOCKYARD_URI)",
                field="uri",
            )
        self.base_url = base_url.strip().rstrip("/")
        self.timeout = timeout
        self.retry_for = retry_for
        self._headers = {"user-agent": f"dockyard/{__version__}"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._raw: HttpxTransport | None = None
        if isinstance(transport, Transport):
            self._transport = transport
        elif transport is None and not proxy_configured():
            self._transport = SocketTransport()
        else:
            from dockyard.client.http._httpx import HttpxTransport

            self._transport = HttpxTransport(
                self.base_url, headers=self._headers, timeout=timeout, transport=transport
            )

    @property
    def _http(self) -> httpx.Client:
        """An ``httpx.Client`` on this client's server (raw access for tests): the transport's
        own, or one made on first use."""
        from dockyard.client.http._httpx import HttpxTransport

        if isinstance(self._transport, HttpxTransport):
            return self._transport.http
        if self._raw is None:
            self._raw = HttpxTransport(self.base_url, headers=self._headers, timeout=self.timeout)
        return self._raw.http

    def close(self) -> None:
        self._transport.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def credentials(self) -> dict[str, str]:
        """The header carrying this client's credentials (none without), for a request it does
        not send itself (a prediction passed on by the server)."""
        found = self._headers.get("authorization")
        return {"authorization": found} if found else {}

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of ``path`` with ``params`` (None values left out) as its query."""
        url = self.base_url + path
        if params:
            query = urlencode(
                [(k, _query_value(v)) for k, v in params.items() if v is not None], doseq=True
            )
            if query:
                url += ("&" if "?" in path else "?") + query
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        timeout: float | None = None,
        retry_for: float | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON (None for an empty body).

        ``retry`` defaults to True for GET, PUT, DELETE and HEAD; pass True for a POST the
        server de-duplicates (an idempotency key, an offset). ``timeout`` and ``retry_for``
        override the client's for this request.
        """
        hdrs = dict(headers or {})
        if json is not None:
            content = _dumps(json)
            hdrs["content-type"] = "application/json"
        response = self.send(
            method,
            path,
            params=params,
            body=content,
            headers=hdrs,
            retry=retry,
            timeout=timeout,
            retry_for=retry_for,
        )
        return orjson.loads(response.content) if response.content else None

    def call(
        self,
        route: Call,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        timeout: float | None = None,
        retry_for: float | None = None,
    ) -> Any:
        """Send one operation of :mod:`dockyard.client.http.routes`; its decoded JSON answer.

        ``body`` is a request model, the pydantic model the server validates the body with,
        or plain JSON. A model is sent with the fields its caller set and only those
        (``model_dump(mode="json", by_alias=True, exclude_unset=True)``): the server fills in
        the same defaults, an update leaves what it does not name as it is, and a field set
        to None on purpose (an endpoint's ``shadow``, to remove it) is sent as null. The route
        says whether the request may be retried, unless ``retry`` does.
        """
        if hasattr(body, "model_dump"):
            body = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return self.request(
            route.method,
            route.path,
            json=body,
            params=params,
            headers=headers,
            retry=route.idempotent if retry is None else retry,
            timeout=timeout,
            retry_for=retry_for,
        )

    def paginate(
        self,
        route: Call,
        key: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Any]:
        """Every item of a paged list, page after page: the items under ``key`` of each answer,
        asking for the next page with its ``next_page_token`` (as a query parameter of a GET,
        in the body of a POST such as a run search) until an answer has none."""
        token: str | None = None
        while True:
            if route.method == "GET":
                page = self.call(route, params={**(params or {}), "page_token": token})
            elif hasattr(body, "model_copy"):
                paged = body.model_copy(update={"page_token": token}) if token else body
                page = self.call(route, paged, params=params)
            else:
                page = self.call(route, {**(body or {}), "page_token": token}, params=params)
            yield from page[key]
            token = page.get("next_page_token")
            if not token:
                return

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        timeout: float | None = None,
        retry_for: float | None = None,
    ) -> Response:
        """Send one request and return the whole response; an error status raises."""
        if retry is None:
            retry = method in _SAFE_METHODS
        url = self.url(path, params)
        hdrs = {**self._headers, **(headers or {})}
        retry_for = self.retry_for if retry_for is None else retry_for
        began = time.monotonic()
        deadline = began + retry_for
        delay = 0.1
        start = body.tell() if body is not None and hasattr(body, "tell") else 0
        told = False
        while True:
            try:
                response = self._transport.send(
                    method, url, headers=hdrs, body=body, timeout=timeout or self.timeout
                )
            except TransportFailure as exc:
                problem = f"cannot reach {self.base_url}: {exc}"
                if exc.lasting:
                    raise Unavailable(problem) from exc
            else:
                if response.status < 300:
                    return response
                if response.status < 400:
                    raise self._redirected(method, path, response)
                if response.status not in _RETRY_STATUSES or not retry:
                    raise self._error(response)
                problem = f"{self.base_url} answered {response.status}"
                delay = max(delay, _retry_after(response))
            if not retry or time.monotonic() + delay > deadline:
                raise Unavailable(
                    f"{problem} (gave up after {retry_for:.0f} s of retries)" if retry else problem
                )
            if (
                not told
                and retry_for >= _TELL_WINDOW_S
                and time.monotonic() - began >= _TELL_AFTER_S
            ):
                # Said once, on stderr where nothing else is set up: a mistyped URL or a
                # server that is down must not look like a command that hangs.
                _log.warning("%s; retrying for up to %g s (Ctrl-C to stop)", problem, retry_for)
                told = True
            if body is not None and hasattr(body, "seek"):
                body.seek(start)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, _MAX_DELAY_S)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Streamed]:
        """A streamed response (artifact downloads); errors raise before the block starts.

        A server that cannot be reached, or a connection that breaks while the body is read,
        is :class:`~dockyard.errors.Unavailable`, as for any other request (not retried: part
        of the body may have been used).
        """
        params = kwargs.pop("params", None)
        timeout = kwargs.pop("timeout", None) or self.timeout
        if kwargs:
            raise TypeError(f"stream() takes no {', '.join(sorted(kwargs))}")
        try:
            with self._transport.stream(
                method, self.url(path, params), headers=self._headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    answer = Response(response.status_code, response.headers, response.read())
                    raise self._error(answer)
                yield response
        except TransportFailure as exc:
            raise Unavailable(f"cannot reach {self.base_url}: {exc}") from exc

    def _redirected(self, method: str, path: str, response: Response) -> NotFound:
        """A redirect, which the API never answers for a resource it has: the path named none
        (an id with a ``/`` in it, which the server reads as another path and redirects
        without its trailing slash). Not followed, and not read as an empty answer, which
        a caller would take for what it asked."""
        to = response.headers.get("location") or "-"
        return NotFound(
            f"{method} {path}: no such resource ({self.base_url} answered {response.status}, "
            f"a redirect to {to})",
            details={"status": response.status},
        )

    def _error(self, response: Response) -> DockyardError:
        """The error an answer stands for: the server's own, else one chosen by status."""
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            return error_from_dict(payload["error"])
        # Not a Dockyard answer (a proxy, a load balancer): keep its words and its status.
        text = response.text[:500] or f"HTTP {response.status}"
        cls = error_class_for_status(response.status)
        message = f"{self.base_url} answered {response.status}: {text}"
        return cls(message, details={"status": response.status})


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _retry_after(response: Response) -> float:
    """The server's ``Retry-After`` in seconds (capped), else 0."""
    try:
        return min(float(response.headers.get("retry-after", 0)), _MAX_DELAY_S)
    except ValueError:
        return 0.0
