"""The HTTP client every SDK and CLI call goes through.

It knows URLs and JSON, nothing of the rules: those live in the server. Errors come back as the
same :mod:`dockyard.errors` classes the server raised. Transient failures (connection refused or
reset, 502/503/504) are retried with exponential backoff for requests that are safe to repeat.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import httpx
import orjson

from dockyard import __version__
from dockyard.errors import DockyardError, Unavailable, error_from_dict

__all__ = ["Client"]

_RETRY_STATUSES = frozenset({502, 503, 504})


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


class Client:
    """A Dockyard API client.

    Args:
        base_url: The server's URL (``http://127.0.0.1:5050``).
        transport: An httpx transport; the embedded default passes an in-process one.
        timeout: Seconds to wait for one response.
        retry_for: Seconds during which transient failures are retried before giving up.
        token: An API token, sent as ``Authorization: Bearer`` with every request.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry_for: float = 120.0,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_for = retry_for
        headers = {"user-agent": f"dockyard/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout, headers=headers
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON (None for an empty body).

        ``retry`` defaults to True for GET, PUT and DELETE; pass True for a POST that carries an
        idempotency key.
        """
        if retry is None:
            retry = method in ("GET", "PUT", "DELETE", "HEAD")
        body = _dumps(json) if json is not None else content
        hdrs = dict(headers or {})
        if json is not None:
            hdrs["content-type"] = "application/json"
        response = self._send(method, path, params, body, hdrs, retry)
        if not response.content:
            return None
        return orjson.loads(response.content)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response (artifact downloads); errors raise before the block starts."""
        with self._http.stream(method, path, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise self._error(response)
            yield response

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | IO[bytes] | None,
        headers: dict[str, str],
        retry: bool,
    ) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                response = self._http.request(
                    method, path, params=params, content=body, headers=headers
                )
            except httpx.TransportError as exc:
                problem: str = f"cannot reach {self.base_url}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUSES or not retry:
                    raise self._error(response)
                problem = f"{self.base_url} answered {response.status_code}"
            if not retry or time.monotonic() + delay > deadline:
                raise Unavailable(
                    f"{problem} (gave up after {self.retry_for:.0f} s of retries)"
                    if retry
                    else problem
                )
            if hasattr(body, "seek"):
                body.seek(0)  # type: ignore[union-attr]
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)

    @staticmethod
    def _error(response: httpx.Response) -> DockyardError:
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            return error_from_dict(payload["error"])
        text = response.text[:500] or response.reason_phrase
        error = error_from_dict({"code": "internal", "message": text})
        error.details["status"] = response.status_code
        return error
