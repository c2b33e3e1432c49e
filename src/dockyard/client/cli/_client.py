"""The CLI's client: the same one the SDK uses (server URL or embedded).

Against a server (``DOCKYARD_URI``) the CLI needs two settings and a handful of requests, so it
reads those two from the environment itself (:class:`~dockyard.client.http.ClientSettings`, as
the SDK does), and the client sends over the standard library's
sockets unless a proxy is set: pydantic-settings and httpx were ~60% of a command's start-up,
more than the command's own work.
The embedded default still goes through :class:`~dockyard.settings.Settings` and the SDK.
"""

from __future__ import annotations

import click

from dockyard.client.http import Client, ClientSettings, resolve_token

__all__ = ["client"]

_KEY = "dockyard.client.http"


def client() -> Client:
    """A client built from ``DOCKYARD_*`` settings (``DOCKYARD_URI`` or the embedded default).

    One per command invocation, closed when the invocation ends (its connections, or the
    embedded server's database), however many times the command asks for it.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return _connect()
    root = ctx.find_root()
    made: Client | None = root.meta.get(_KEY)
    if made is None:
        made = root.meta[_KEY] = _connect()
        root.call_on_close(made.close)
    return made


def _connect() -> Client:
    found = ClientSettings.from_env()
    if found is not None:
        return Client(found.uri, token=resolve_token(found.uri, found.token))
    from dockyard.client.sdk import connect
    from dockyard.settings import Settings

    return connect(Settings())
