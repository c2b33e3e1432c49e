"""Sending an endpoint's requests to its workers: the one router of the invocations route and of
an endpoint's own port on the server's machine (:mod:`dockyard.server.endpoints._port`).

Requests go to the addresses in turn; one that cannot be reached (a replica's node was lost) is
set aside for :data:`DOWN_S` seconds while the request is sent on to the next, so a lost node
costs callers no failed request while another replica serves. A request whose worker died
mid-answer is sent again too: predictions are taken to be free of side effects. An address set
aside is still tried last, so an endpoint with one worker left is never refused for a stale mark.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence

from dockyard.server.endpoints._upstream import Upstream, UpstreamError

__all__ = ["DOWN_S", "Router", "UpstreamError"]

#: How long a replica that could not be reached gets no request (unless none other is left).
DOWN_S = 10.0

Address = tuple[str, int]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class Router:
    """Round-robin over an endpoint's addresses with set-aside on failure (one per app or
    port server; its connections belong to the event loop that last used it)."""

    def __init__(self) -> None:
        self._upstream: Upstream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = itertools.count()
        self._down: dict[Address, float] = {}  # addresses set aside, until when

    async def send(
        self,
        addresses: Sequence[Address],
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout_s: float,
        *,
        failed: Callable[[], None] | None = None,
    ) -> Answer:
        """Send the request to the first address that answers; ``failed`` is called on each
        address that did not (the caller may look its addresses up again).

        Raises:
            UpstreamError: None answered (or there is none); the last failure.
        """
        loop = asyncio.get_running_loop()
        if self._upstream is None or self._loop is not loop:
            # Connections belong to one event loop (the SDK's in-process server runs others).
            if self._upstream is not None:
                self._upstream.close()
            self._upstream, self._loop = Upstream(), loop
        failure = UpstreamError("no worker serves it")
        for host, port in self._order(addresses):
            try:
                return await self._upstream.request(
                    host, port, method, target, headers, body, timeout_s
                )
            except UpstreamError as exc:
                failure = exc
                if failed is not None:
                    failed()
                if len(addresses) > 1:
                    self._down[(host, port)] = time.monotonic() + DOWN_S
        raise failure

    def _order(self, addresses: Sequence[Address]) -> list[Address]:
        """The addresses to try, starting with the next one in turn; those set aside last."""
        if len(addresses) <= 1:
            return list(addresses)
        start = next(self._turn) % len(addresses)
        turn = [*addresses[start:], *addresses[:start]]
        now = time.monotonic()
        if self._down:
            self._down = {a: until for a, until in self._down.items() if until > now}
        return [a for a in turn if a not in self._down] + [a for a in turn if a in self._down]

    def close(self) -> None:
        """Close the kept connections."""
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None
