"""How the SDK and CLI reach a server: a URL, or the embedded default in this process."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

from dockyard.client.http import Client, ClientSettings, resolve_token

if TYPE_CHECKING:
    from dockyard.settings import Settings

__all__ = ["connect", "full_settings"]

EMBEDDED_URL = "http://dockyard.embedded"

#: Names people reach for when they mean ``DOCKYARD_URI``; set alone, they change nothing.
LOOKALIKES = ("DOCKYARD_URL", "DOCKYARD_SERVER", "DOCKYARD_SERVER_URL", "DOCKYARD_TRACKING_URI")


def connect(settings: Settings | ClientSettings) -> Client:
    """A client for ``settings.uri``; with none set, for an app served in this process.

    Against a server, requests carry ``DOCKYARD_TOKEN`` or the token ``dockyard login`` saved
    for that URL, over the transport :class:`~dockyard.client.http.Client` chooses (the CLI's
    too): the standard library's sockets, or httpx when the environment names a proxy.
    The embedded app is the same HTTP application ``dockyard server`` runs, over the SQLite
    database and artifact folder in ``settings.home``.
    """
    if settings.uri:
        return Client(settings.uri, token=resolve_token(settings.uri, settings.token))
    full = full_settings(settings)
    warn_of_lookalikes(full)
    from dockyard.server import InProcessTransport, create_app

    return Client(EMBEDDED_URL, transport=InProcessTransport(create_app(full)))


def full_settings(settings: Settings | ClientSettings) -> Settings:
    """``settings`` as a whole :class:`~dockyard.settings.Settings` (the embedded app and a
    local server need every setting): read from the environment when only the client's were."""
    if isinstance(settings, ClientSettings):
        from dockyard.settings import Settings

        return Settings()
    return settings


def warn_of_lookalikes(settings: Settings) -> None:
    """Warn when a variable that looks like the server's URL is set but ``DOCKYARD_URI`` is
    not: the embedded default is about to be used instead of the server it names."""
    named = [name for name in LOOKALIKES if os.environ.get(name)]
    if named:
        warnings.warn(
            f"{named[0]} is set, but Dockyard reads a server's URL from DOCKYARD_URI: using "
            f"the embedded default over {settings.home} instead",
            UserWarning,
            stacklevel=3,
        )
