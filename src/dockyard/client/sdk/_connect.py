"""How the SDK and CLI reach a server: a URL, or the embedded default in this process."""

from __future__ import annotations

from dockyard.client.http import Client, resolve_token
from dockyard.settings import Settings

__all__ = ["connect"]

EMBEDDED_URL = "http://dockyard.embedded"


def connect(settings: Settings) -> Client:
    """A client for ``settings.uri``; with none set, for an app served in this process.

    Against a server, requests carry ``DOCKYARD_TOKEN`` or the token ``dockyard login`` saved
    for that URL.
    The embedded app is the same HTTP application ``dockyard server`` runs, over the SQLite
    database and artifact folder in ``settings.home``.
    """
    if settings.uri:
        return Client(settings.uri, token=resolve_token(settings.uri, settings.token))
    from dockyard.server import InProcessTransport, create_app

    return Client(EMBEDDED_URL, transport=InProcessTransport(create_app(settings)))
