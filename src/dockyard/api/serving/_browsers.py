"""What a web page in a user's browser must not do to an endpoint's port.

An endpoint listens on ``127.0.0.1`` unless its config exposes it, and with no API key it answers
whoever reaches it. A web page reaches it too, through the browser of a user on that machine:

* **DNS rebinding**: a page on ``attacker.example`` whose name then resolves to ``127.0.0.1`` is
  same-origin with the port in the browser's eyes, so it can send any request and read the
  answer (predictions, models' metadata). Its requests carry ``Host: attacker.example``, so a
  port bound to loopback answers only ``Host`` values that are loopback names or addresses.
* **Cross-site requests**: any page may POST to ``http://127.0.0.1:<port>/invocations`` without
  reading the answer (a ``text/plain`` body needs no preflight, and a model's own ``input_fn``
  may take it), feeding data capture and monitoring with what it likes. Browsers name the page's
  origin on such requests (``Origin``, ``Sec-Fetch-Site``), so a state change from another
  origin is refused. Clients that are not browsers send neither header.

The server's own port applies the same two rules (:mod:`dockyard.server._auth`). A port bound
beyond loopback answers every ``Host``: its operator exposed it to the network on purpose.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from dockyard.errors import DockyardError, InvalidArgument, PermissionDenied

__all__ = ["BrowserGuard"]

_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _loopback(name: str) -> bool:
    if name in _LOOPBACK or name.endswith(".localhost"):
        return True
    try:  # 127.0.0.2 is loopback; a name such as 127.0.0.1.attacker.example is not
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class BrowserGuard:
    """The ``Host`` and cross-site checks of one port.

    Args:
        bound: The address the port is bound to (an endpoint config's ``host``).
    """

    __slots__ = ("_loopback_only", "bound")

    def __init__(self, bound: str) -> None:
        self.bound = bound
        self._loopback_only = _loopback(_host_name(bound))

    def refusal(self, method: str, headers: Iterable[tuple[bytes, bytes]]) -> DockyardError | None:
        """Why this request is refused (400 for a ``Host`` the port does not answer to, 403 for
        a state change from another origin), or None."""
        host = origin = fetch_site = None
        for name, value in headers:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                fetch_site = value.decode("latin-1")
        if host is not None and self._loopback_only and not _loopback(_host_name(host)):
            return InvalidArgument(
                f"this endpoint listens on {self.bound} and does not answer to Host "
                f"{host[:100]!r}: call it by a loopback name (127.0.0.1, localhost)",
                field="Host",
            )
        if method in _SAFE:
            return None
        if origin is not None:
            same = host is not None and origin.rstrip("/").lower() in (
                f"http://{host}".lower(),
                f"https://{host}".lower(),
            )
            if not same:
                return PermissionDenied(
                    f"cross-site request from {origin[:100]!r} refused: an endpoint takes no "
                    "requests from other sites' pages"
                )
        elif fetch_site == "cross-site":
            return PermissionDenied(
                "cross-site request refused: an endpoint takes no requests from other sites' pages"
            )
        return None
