"""A transport over httpx: pooled keep-alive connections and streamed downloads.

The SDK and CLI use it; so does the embedded default, through an httpx transport that calls the
ASGI app in this process (:mod:`dockyard.server._inprocess`). httpx's own errors are translated
here, at the one place that calls it. Over the network it trusts what the socket transport
trusts (:func:`~dockyard.client.http._sockets.tls_context`), so a server's certificate is
verified the same way whichever transport a client takes.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from dockyard.client.http._sockets import tls_context
from dockyard.client.http._transport import (
    Body,
    Response,
    Transport,
    TransportFailure,
    lasting_tls_failure,
    unknown_host,
)

__all__ = ["HttpxTransport"]


class HttpxTransport(Transport):
    """Sends through one ``httpx.Client``.

    Args:
        base_url: Where relative URLs point (raw access through ``http``).
        headers: Sent with every request (user agent, authorization).
        timeout: The default timeout, in seconds.
        transport: An httpx transport to send through (the in-process one), else the network.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers=dict(headers),
            verify=tls_context() if transport is None else True,
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Body,
        timeout: float,
    ) -> Response:
        try:
            if isinstance(body, Path):
                with body.open("rb") as source:
                    answer = self.http.request(
                        method, url, content=source, headers=headers, timeout=timeout
                    )
            else:
                answer = self.http.request(
                    method, url, content=body, headers=headers, timeout=timeout
                )
        except httpx.TransportError as exc:
            raise _failure(url, exc) from exc
        return Response(answer.status_code, answer.headers, answer.content)

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: Mapping[str, str], timeout: float
    ) -> Iterator[httpx.Response]:
        """A streamed response; the caller checks its status."""
        try:
            with self.http.stream(method, url, headers=headers, timeout=timeout) as response:
                yield response
        except httpx.TransportError as exc:
            raise _failure(url, exc) from exc

    def close(self) -> None:
        self.http.close()


def _failure(url: str, exc: httpx.TransportError) -> TransportFailure:
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the ssl module's error in its own
        lasting = lasting_tls_failure(url, cause) if isinstance(cause, ssl.SSLError) else None
        lasting = lasting or unknown_host(url, cause)
        if lasting is not None:
            return lasting
        cause = cause.__cause__ or cause.__context__
    return TransportFailure(str(exc) or type(exc).__name__)
