"""The transport contract: one request out, one whole response back, in plain primitives.

:class:`~dockyard.client.http.Client` owns everything above a single exchange (base URL, auth,
retries, error mapping, JSON); a transport only moves bytes. Two exist because processes differ
in what they can afford to import and what they must honour:
:mod:`dockyard.client.http._sockets` (the standard library's sockets, kept-alive connections:
the SDK over plain HTTP, the CLI and the job runner, whose start-up time users feel) and
:mod:`dockyard.client.http._httpx` (certifi's authorities, proxies from the environment, and
the embedded default's in-process app).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

__all__ = [
    "Body",
    "Response",
    "Streamed",
    "Transport",
    "TransportFailure",
    "lasting_tls_failure",
    "unknown_host",
    "untrusted",
]

Body = bytes | Path | IO[bytes] | None
"""A request body: bytes, a file sent from disk, an open binary file, or nothing."""


class TransportFailure(ConnectionError):
    """The server could not be reached, or the connection broke before an answer came.

    ``lasting``: trying again cannot help (the server's certificate is not trusted), so the
    client says so at once instead of retrying for its whole window.
    """

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


def lasting_tls_failure(url: str, exc: BaseException) -> TransportFailure | None:
    """The failure for a TLS handshake that trying again cannot mend, or None: a certificate
    this client does not trust, or a server that does not speak TLS at all (an ``https://``
    URL for an ``http://`` server)."""
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return untrusted(url, exc)
    if isinstance(exc, ssl.SSLError) and exc.reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST"):
        host = urlsplit(url).netloc.rpartition("@")[2]
        return TransportFailure(
            f"{host} does not answer in TLS ({exc.reason}): if it serves plain HTTP, write the "
            "URL as http://",
            lasting=True,
        )
    return None


def unknown_host(url: str, exc: BaseException) -> TransportFailure | None:
    """The failure for a host name that does not resolve (most often a typo), or None: said at
    once rather than retried. A resolver that fails for now (``EAI_AGAIN``) is retried."""
    import socket

    if isinstance(exc, socket.gaierror) and exc.errno in (socket.EAI_NONAME, _EAI_NODATA):
        host = urlsplit(url).hostname or url
        return TransportFailure(
            f"no host named {host!r} is known here ({exc.strerror}): check the URL",
            lasting=True,
        )
    return None


_EAI_NODATA = -5  # glibc's "No address associated with hostname"


def untrusted(url: str, exc: BaseException) -> TransportFailure:
    """The failure for a server whose TLS certificate this client does not trust."""
    reason = getattr(exc, "verify_message", None) or str(exc)
    return TransportFailure(
        f"the certificate of {urlsplit(url).netloc.rpartition('@')[2]} is not trusted "
        f"({reason}): name the authority that signed it in SSL_CERT_FILE",
        lasting=True,
    )


class Response:
    """One answer: its status, headers (lower-case names) and body."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def status_code(self) -> int:
        return self.status

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        size = chunk_size or len(self.content) or 1
        for at in range(0, len(self.content), size):
            yield self.content[at : at + size]

    def read(self) -> bytes:
        return self.content


class Streamed(Protocol):
    """An answer whose body is read as it comes: the part of ``httpx.Response`` that callers
    of :meth:`Client.stream <dockyard.client.http.Client.stream>` use."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def iter_bytes(self, chunk_size: int | None = ...) -> Iterator[bytes]: ...

    def read(self) -> bytes: ...


class Transport(ABC):
    """Sends one request and returns the whole response; raises :class:`TransportFailure`."""

    @abstractmethod
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Body,
        timeout: float,
    ) -> Response: ...

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: Mapping[str, str], timeout: float
    ) -> Iterator[Streamed]:
        """The answer to a request without a body, its body read by the caller as it comes;
        here read whole first, by :meth:`send`."""
        yield self.send(method, url, headers=headers, body=None, timeout=timeout)

    def close(self) -> None:  # noqa: B027 (a transport without resources has nothing to close)
        """Release connections."""
