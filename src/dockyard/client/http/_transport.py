"""The transport contract: one request out, one whole response back, in plain primitives.

:class:`~dockyard.client.http.Client` owns everything above a single exchange (base URL, auth,
retries, error mapping, JSON); a transport only moves bytes. Two exist because processes differ
in what they can afford to import: :mod:`dockyard.client.http._httpx` (pooled connections,
streaming; the SDK and CLI) and :mod:`dockyard.client.http._sockets` (the standard library's
sockets; the job runner, whose start-up time users feel).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import IO

__all__ = ["Body", "Response", "Transport", "TransportFailure"]

Body = bytes | Path | IO[bytes] | None
"""A request body: bytes, a file sent from disk, an open binary file, or nothing."""


class TransportFailure(ConnectionError):
    """The server could not be reached, or the connection broke before an answer came."""


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

    def close(self) -> None:  # noqa: B027 (a transport without resources has nothing to close)
        """Release connections."""
