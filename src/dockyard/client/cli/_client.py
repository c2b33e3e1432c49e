"""The CLI's client: the same one the SDK uses (server URL or embedded)."""

from __future__ import annotations

import click

from dockyard.client.http import Client
from dockyard.client.sdk import connect
from dockyard.settings import Settings

__all__ = ["client"]

_KEY = "dockyard.client.http"


def client() -> Client:
    """A client built from ``DOCKYARD_*`` settings (``DOCKYARD_URI`` or the embedded default).

    One per command invocation, closed when the invocation ends (its connections, or the
    embedded server's database), however many times the command asks for it.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return connect(Settings())
    root = ctx.find_root()
    made: Client | None = root.meta.get(_KEY)
    if made is None:
        made = root.meta[_KEY] = connect(Settings())
        root.call_on_close(made.close)
    return made
