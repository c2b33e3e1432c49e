"""The one HTTP client every Dockyard client and runtime process uses to reach the server.

- :class:`Client`: base URL, auth, retries with backoff, timeouts, errors as
  :mod:`dockyard.errors` classes (``_client``).
- Transports, a contract of plain primitives (``_transport``): the standard library's sockets
  with kept-alive connections (``_sockets``: what :class:`Client` takes for the network), httpx
  (``_httpx``: when the environment names a proxy), and an ASGI app in this process for the
  embedded default (``_inprocess``). Both network transports trust the same authorities.
- Tokens: ``DOCKYARD_TOKEN``, a job's token, or the one ``dockyard login`` saved
  (``_auth``, ``_credentials``); the few settings a client reads, without pydantic-settings
  (``_env``).
- Answers read into the API's models, tolerant of fields a newer server adds
  (:func:`from_answer`, ``_answers``).

Importing it costs the standard library and orjson: no httpx, no pydantic, no server code, so
the CLI and the runner start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.client.http._answers import from_answer
    from dockyard.client.http._auth import resolve_token
    from dockyard.client.http._client import Client
    from dockyard.client.http._credentials import forget_token, save_token
    from dockyard.client.http._env import ClientSettings
    from dockyard.client.http._sockets import SocketTransport, proxy_configured
    from dockyard.client.http._transport import Response, Transport, TransportFailure

__all__ = [
    "Client",
    "ClientSettings",
    "Response",
    "SocketTransport",
    "Transport",
    "TransportFailure",
    "forget_token",
    "from_answer",
    "proxy_configured",
    "resolve_token",
    "save_token",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Client": "._client",
        "ClientSettings": "._env",
        "Response": "._transport",
        "SocketTransport": "._sockets",
        "Transport": "._transport",
        "TransportFailure": "._transport",
        "forget_token": "._credentials",
        "from_answer": "._answers",
        "proxy_configured": "._sockets",
        "resolve_token": "._auth",
        "save_token": "._credentials",
    },
)
